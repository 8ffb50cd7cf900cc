# SPDX-License-Identifier: GPL-3.0-or-later
"""restore_test with real pgBackRest: restores, validates, measures, and leaves nothing behind."""

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.harness.pgbackrest import Stanza
from tests.harness.faults import failing_binary
from tests.harness.pgcluster import ModuleFailed, run_module


@pytest.fixture()
def stanza():
    s = Stanza().start()
    s.cluster.psql('CREATE DATABASE shop')
    s.cluster.psql('CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 1234) g;'
                   'CREATE INDEX ON orders (id);', db='shop')
    s.backup('full')
    yield s
    s.destroy()


@pytest.fixture()
def scratch_root():
    """A scratch root the postgres user can traverse (pytest's tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix='pgops-scratch-')
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def args(s, tmp_path, **extra):
    a = dict(stanza=s.name, config=s.config, scratch_root=str(tmp_path), bin_dir=s.cluster.bin_dir)
    a.update(extra)
    return a


def scratch_servers(root):
    """Processes of a scratch server (or its restore) under this test's scratch root only: other
    tests may run theirs at the same time (pytest -n)."""
    out = subprocess.run(['pgrep', '-af', 'pgops-restore-'], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if str(root) in line and 'pgrep' not in line]


def test_restore_validate_and_clean_up(stanza, scratch_root):
    tmp_path = scratch_root
    planned = run_module('restore_test', args(stanza, tmp_path), check_mode=True)
    assert '--archive-mode=off' in planned['commands'][0] and '--type=immediate' in planned['commands'][0]
    assert os.listdir(tmp_path) == []
    checks = dict(sample_tables=['shop.public.orders'], amcheck_databases=['shop'], dump_database='shop')
    result = run_module('restore_test', args(stanza, tmp_path, **checks))
    assert result['findings'][0]['severity'] == 'ok', result['findings']
    assert result['counts'] == {'shop.public.orders': 1234}
    assert result['amcheck']['shop'] >= 1
    assert set(result['timings']) == {'restore', 'start', 'validation', 'rto'}
    assert result['left_behind'] is False and os.listdir(tmp_path) == [] and scratch_servers(tmp_path) == []
    # the production stanza's archive was never written by the scratch server
    assert stanza.cluster.is_running()


def test_failed_validation_still_cleans_up(stanza, scratch_root):
    tmp_path = scratch_root
    result = run_module('restore_test', args(stanza, tmp_path, sample_tables=['shop.public.missing']))
    assert result['findings'][0]['severity'] == 'critical'
    assert 'validation failed' in result['findings'][0]['observed']
    assert result['left_behind'] is False and os.listdir(tmp_path) == [] and scratch_servers(tmp_path) == []


def test_counts_every_table_without_samples(stanza, scratch_root):
    tmp_path = scratch_root
    result = run_module('restore_test', args(stanza, tmp_path))
    assert result['counts']['shop.public.orders'] == 1234


def test_bad_scratch_root(stanza, tmp_path):
    with pytest.raises(ModuleFailed) as err:
        run_module('restore_test', args(stanza, str(tmp_path / 'nope')))
    assert "parameter 'scratch_root'" in err.value.result['msg']


@pytest.mark.parametrize('step', ['restore', 'start'])
def test_a_fault_at_each_step_is_a_finding_and_leaves_nothing(stanza, scratch_root, step):
    tmp_path = scratch_root
    if step == 'restore':
        d = failing_binary('pgbackrest', ['P00  ERROR: [099]: injected pgbackrest failure', 'HINT: a test'],
                           when='restore')
        extra, env = {}, {'PATH': d + os.pathsep + os.environ['PATH']}
    else:
        d = failing_binary('pg_ctl', ['injected pg_ctl failure'], when='start', real_dir=stanza.cluster.bin_dir)
        extra, env = {'bin_dir': d}, None
    try:
        result = run_module('restore_test', args(stanza, tmp_path, **extra), env=env)
    finally:
        shutil.rmtree(d)
    f = result['findings'][0]
    assert f['severity'] == 'critical' and f['observed'].startswith('%s failed' % step), f
    if step == 'restore':
        assert 'ERROR: [099]: injected pgbackrest failure' in f['observed'] and 'HINT: a test' in f['observed']
    assert result['left_behind'] is False and os.listdir(tmp_path) == [] and scratch_servers(tmp_path) == []
    assert stanza.cluster.is_running()


def test_each_step_fails_in_turn_and_nothing_is_left_behind(stanza, scratch_root):
    """Whatever step fails, the result is a critical finding naming it, the scratch server is
    stopped and its directory gone; the production cluster is untouched."""
    s = stanza
    before = s.cluster.psql("SELECT pg_postmaster_start_time(), (SELECT count(*) FROM orders)", db='shop')
    names = []
    for step in range(1, 8):
        result = run_module('restore_test', args(s, scratch_root, sample_tables=['shop.public.orders'],
                                                 dump_database='shop'), env={'PGOPS_FAULT_AT': str(step)})
        assert not result['left_behind'] and os.listdir(scratch_root) == []
        assert not subprocess.run(['pgrep', '-f', 'postgres -D %s' % scratch_root], check=False).returncode == 0
        if result['findings'][0]['severity'] == 'ok':
            break
        names.append(result['steps'][-1]['step'].split(' ')[0])
        observed = result['findings'][0]['observed']
        assert result['findings'][0]['severity'] == 'critical' and 'injected fault after the step' in observed
    assert names == ['prepare', 'restore', 'configure', 'start', 'wait', 'validation']
    assert result['timings']['rto'] > 0 and result['counts']
    assert s.cluster.psql("SELECT pg_postmaster_start_time(), (SELECT count(*) FROM orders)", db='shop') == before
