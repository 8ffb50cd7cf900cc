# SPDX-License-Identifier: GPL-3.0-or-later
"""Three database hosts and a backup repository host over SSH, as a user runs the collection on real servers.

The collection is built and installed with ansible-galaxy into a directory of its own, and its
playbooks are run by their collection names (pgops.postgresql.install, ...) from a directory
outside this checkout, with the inventory of inventories/example (its group_vars, host_vars and
vaulted secrets, opened with the example's throwaway vault password), only the addresses and the
SSH login changed to those of the test hosts (tests/harness/multihost.py). Ansible logs in as an
unprivileged user with a key, host keys checked, and becomes root with sudo.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.harness.multihost import SSH_USER, SUBNET, Estate  # noqa: E402
from tests.harness.pgcluster import run_module, wait_for  # noqa: E402

EXAMPLE = os.path.join(ROOT, 'inventories', 'example')
VENV_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope='module')
def estate():
    e = Estate(('db1', 'db2', 'db3', 'backup1')).start()
    yield e
    e.destroy()


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The collection as a user installs it: a built tarball, ansible-galaxy collection install."""
    work = tmp_path_factory.mktemp('controller')
    dist = work / 'dist'
    subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(dist), ROOT],
                   check=True, capture_output=True)
    collections = work / 'collections'
    tarball = next(dist.iterdir())
    # --force: a copy elsewhere on the machine (an older install) must not make it skip this one
    proc = subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--force',
                           '-p', str(collections), str(tarball)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (collections / 'ansible_collections' / 'pgops' / 'postgresql' / 'playbooks' / 'install.yml').exists()
    return work, collections


@pytest.fixture(scope='module')
def inventory(estate, installed):
    """inventories/example with the test hosts' addresses and SSH login, nothing else changed but
    the networks (the example's 10.0.10.0/24 is the test hosts' range here)."""
    work, dummy = installed
    inv = work / 'inventory'
    shutil.copytree(EXAMPLE, str(inv), ignore=shutil.ignore_patterns('pki'))
    hosts = yaml.safe_load((inv / 'hosts.yml').read_text())
    for group in hosts['all']['children'].values():
        for name, values in group['hosts'].items():
            values['ansible_host'] = estate.address[name]
    (inv / 'hosts.yml').write_text(yaml.safe_dump(hosts))
    main = yaml.safe_load((inv / 'group_vars' / 'all' / 'main.yml').read_text())
    main.update(estate.inventory_vars())
    main['pgops_report_dir'] = str(work / 'reports')
    text = yaml.safe_dump(main).replace('10.0.10.0/24', str(SUBNET)).replace('10.0.20.0/24', str(SUBNET))
    (inv / 'group_vars' / 'all' / 'main.yml').write_text(text)
    return inv


def playbook(installed, inventory, name, extra=None, check=True):
    """Run pgops.postgresql.<name> as a user would, from a directory outside the checkout."""
    work, collections = installed
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_HOST_KEY_CHECKING='True',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_STDOUT_CALLBACK='default', ANSIBLE_PIPELINING='True',
               PGOPS_REPORT_DIR=str(work / 'reports'))
    env.pop('ANSIBLE_CONFIG', None)
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', str(inventory),
            '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.example'), 'pgops.postgresql.%s' % name]
    for key, value in (extra or {}).items():
        argv += ['-e', '%s=%s' % (key, value)]
    t0 = time.time()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(work), check=False)
    seconds = time.time() - t0
    if check:
        failures = [line for line in proc.stdout.splitlines() if line.startswith(('fatal:', 'failed:'))]
        assert proc.returncode == 0, '\n'.join(failures)[-6000:] + proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc, seconds


def psql(estate, host, sql):
    r = estate.ssh(host, "runuser -u postgres -- psql -X -At -c %s" % _sq(sql))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _sq(text):
    return "'%s'" % text.replace("'", "'\\''")


def backups(estate):
    """The stanza as the repository host sees it."""
    r = estate.ssh('backup1', 'runuser -u pgbackrest -- pgbackrest --stanza=main --output=json info')
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def test_install_daily_and_switchover_over_ssh(estate, installed, inventory):
    timings = {}
    proc, timings['install'] = playbook(installed, inventory, 'install')
    # the primary and its standbys, streaming with verify-full against the estate CA
    assert psql(estate, 'db1', 'SELECT pg_is_in_recovery()') == 'f'
    rows = psql(estate, 'db1', "SELECT application_name || ':' || sync_state || ':' || (ssl)::text FROM "
                               "pg_stat_replication JOIN pg_stat_ssl USING (pid) ORDER BY 1")
    assert rows.splitlines() == ['db2:quorum:true', 'db3:async:true'], rows  # ANY 1 (db2)
    for standby in ('db2', 'db3'):
        conninfo = psql(estate, standby, 'SHOW primary_conninfo')
        assert 'sslmode=verify-full' in conninfo and 'host=%s' % estate.address['db1'] in conninfo
    # the CA key stayed on the controller; the hosts got its certificate only
    pki = inventory / 'pki'
    assert (pki / 'ca.key').exists()
    for host in ('db1', 'db2', 'db3'):
        assert estate.ssh(host, 'test ! -e /etc/pgops/pki/ca.key && test -e /etc/pgops/pki/ca.crt').returncode == 0
    # the repository host: WAL of the primary arrives over SSH, keys restricted both ways, host
    # keys known (no trust on first use), the repository user is not root
    stanza = backups(estate)
    assert stanza['status']['code'] in (0, 2) and stanza['archive'][0]['max'], stanza
    keys = estate.ssh('backup1', 'cat /home/pgbackrest/.ssh/authorized_keys').stdout.splitlines()
    assert len(keys) == 3 and all(k.startswith('restrict ') for k in keys), keys
    for host in ('db1', 'db2', 'db3'):
        assert estate.ssh(host, 'grep -c "^restrict .*pgbackrest@backup1" /var/lib/postgresql/.ssh/authorized_keys'
                          ).stdout.strip() == '1'
        assert estate.ssh(host, 'runuser -u postgres -- ssh-keygen -F %s -f /var/lib/postgresql/.ssh/known_hosts'
                          % estate.address['backup1']).returncode == 0
    again, timings['install_again'] = playbook(installed, inventory, 'install')
    assert 'changed=0' in again.stdout.split('PLAY RECAP')[-1], again.stdout[-3000:]
    proc, timings['backup'] = playbook(installed, inventory, 'backup')
    assert [b['type'] for b in backups(estate)['backup']] == ['full'], proc.stdout[-2000:]

    proc, timings['daily'] = playbook(installed, inventory, 'daily')
    work = installed[0]
    fleet = json.loads((work / 'reports' / 'daily' / 'latest.json').read_text()) if (
        work / 'reports' / 'daily' / 'latest.json').exists() else None
    latest = (work / 'reports' / 'daily' / 'latest.txt').read_text().strip()
    assert os.path.exists(latest), latest
    assert fleet is None or fleet['summary']['critical'] == 0

    # least privilege: the SSH account loses sudo altogether; the daily check runs as that account
    # and logs in as pgops_monitor (pg_monitor) over TCP with TLS
    sudoers = '/etc/sudoers.d/%s' % SSH_USER
    os.rename(sudoers, sudoers + '.off')
    try:
        assert estate.ssh('db1', 'true').returncode != 0  # sudo is refused now
        proc, timings['daily_without_sudo'] = playbook(installed, inventory, 'daily', {'pgops_become': 'false'})
    finally:
        os.rename(sudoers + '.off', sudoers)
    run_dir = os.path.dirname((work / 'reports' / 'daily' / 'latest.txt').read_text().strip())
    fleet = json.loads(open(os.path.join(run_dir, 'fleet-summary.json')).read())
    assert fleet['summary']['hosts'] == 3 and fleet['summary']['failing_hosts'] == [], fleet['summary']
    assert psql(estate, 'db1', "SELECT pg_has_role('pgops_monitor', 'pg_monitor', 'member') AND NOT rolsuper "
                               "FROM pg_roles WHERE rolname = 'pgops_monitor'") == 't'

    # a writer on the controller commits every 20 ms through TLS (verify-full, the estate CA) to
    # whichever host accepts writes, through the switchover and a kill -9 failover
    probe = dict(name='estate', hosts=[dict(host=estate.address[h], port=5432) for h in ('db1', 'db2', 'db3')],
                 login_user='pgops_admin', login_password='Example-admin-2026', ssl_mode='verify-full',
                 ca_cert=str(pki / 'ca.crt'), state_dir=str(work), interval_ms=20)
    try:
        run_module('write_probe', dict(probe, state='started'))
        assert wait_for(lambda: int(psql(estate, 'db1', 'SELECT count(*) FROM pgops_write_probe')) > 20, 20)
        proc, timings['switchover'] = playbook(installed, inventory, 'switchover',
                                               {'pgops_switchover_candidate': 'db2'})
        assert psql(estate, 'db2', 'SELECT pg_is_in_recovery()') == 'f'
        assert psql(estate, 'db1', 'SELECT pg_is_in_recovery()') == 't'
        rows = psql(estate, 'db2', "SELECT application_name FROM pg_stat_replication ORDER BY 1")
        assert rows.splitlines() == ['db1', 'db3'], rows
        before = int(psql(estate, 'db2', 'SELECT count(*) FROM pgops_write_probe'))
        assert wait_for(lambda: int(psql(estate, 'db2', 'SELECT count(*) FROM pgops_write_probe')) > before + 20, 20)
        # the primary's postmaster dies; the synchronous standby (db1 now) is promoted
        pid = estate.ssh('db2', 'head -1 /var/lib/postgresql/15/main/postmaster.pid').stdout.strip()
        assert estate.ssh('db2', 'kill -9 %s' % pid).returncode == 0
        proc, timings['failover'] = playbook(installed, inventory, 'failover', {'pgops_failover_confirm': 'db1'})
        assert psql(estate, 'db1', 'SELECT pg_is_in_recovery()') == 'f'
        stopped = run_module('write_probe', dict(probe, state='stopped'))
    finally:
        run_module('write_probe', dict(probe, state='stopped'))
    assert stopped['acknowledged'] > 50 and stopped['lost'] == 0, stopped
    proc, timings['rejoin'] = playbook(installed, inventory, 'rejoin', {'pgops_rejoin_node': 'db2'})
    assert psql(estate, 'db2', 'SELECT pg_is_in_recovery()') == 't'
    rows = psql(estate, 'db1', "SELECT application_name FROM pg_stat_replication ORDER BY 1")
    assert rows.splitlines() == ['db2', 'db3'], rows
    # after a switchover (timeline 2) and a failover (3), the new primary archives to the same
    # repository and the repository host backs up from it, nothing changed in between
    r = estate.ssh('db1', 'runuser -u postgres -- pgbackrest --stanza=main check')
    assert r.returncode == 0, r.stdout + r.stderr
    proc, timings['backup_after_failover'] = playbook(installed, inventory, 'backup', {'pgops_backup_type': 'incr'})
    stanza = backups(estate)
    assert [b['type'] for b in stanza['backup']] == ['full', 'incr'], stanza['backup']
    assert stanza['backup'][-1]['archive']['start'].startswith('00000003'), stanza['backup'][-1]['archive']
    # a database host restores that backup from the repository host over SSH into a scratch
    # server and validates it (the weekly restore test, on one node)
    proc, timings['restore_test'] = playbook(installed, inventory, 'restore_test', {'pgops_hosts': 'db3'})
    run_dir = os.path.dirname((work / 'reports' / 'restore_test' / 'latest.txt').read_text().strip())
    restored = json.loads(open(os.path.join(run_dir, 'fleet-summary.json')).read())
    assert restored['summary']['hosts'] == 1 and restored['summary']['critical'] == 0, restored['summary']
    print('multi-host timings (s):', dict((k, round(v, 1)) for k, v in timings.items()),
          'writer: %d acknowledged, %d lost, write unavailability %s s' % (
              stopped['acknowledged'], stopped['lost'], stopped.get('max_unavailable_seconds')))
