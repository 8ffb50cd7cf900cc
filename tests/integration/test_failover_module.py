# SPDX-License-Identifier: GPL-3.0-or-later
"""failover and write_probe against real streaming replication: a primary and standbys on
this machine, TLS with verify-full, a client committing every 20 ms through it all."""

import os
import shutil
import signal
import tempfile
import time

import pytest

from tests.harness.faults import failing_binary
from tests.harness.pgcluster import ModuleFailed, run_module, wait_for
from tests.harness.replication import ReplicaSet


@pytest.fixture()
def probe_dir():
    """The probe's directory; a writer a failed test left running is stopped afterwards."""
    d = tempfile.mkdtemp(prefix='pgops-probe-')
    yield d
    pid_file = os.path.join(d, 'write_probe-t.pid')
    if os.path.exists(pid_file):
        try:
            os.kill(int(open(pid_file).read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    shutil.rmtree(d, ignore_errors=True)


def probe(rs, state, probe_dir, **extra):
    args = dict(state=state, name='t', hosts=[dict(host=c.socket_dir, port=c.port) for c in rs.nodes.values()],
                login_user='postgres', state_dir=probe_dir, interval_ms=20)
    args.update(extra)
    return run_module('write_probe', args)


def kill9_postmaster(cluster):
    with open(os.path.join(cluster.data_dir, 'postmaster.pid')) as fh:
        pid = int(fh.readline())
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists('/proc/%d' % pid) or open('/proc/%d/stat' % pid).read().split()[2]
                    == 'Z', 10)
    # Where PID 1 does not reap, the dead postmaster stays a zombie whose pid still answers
    # kill(0) and blocks a restart: a reaped postmaster leaves a stale pid file, as here.
    os.unlink(os.path.join(cluster.data_dir, 'postmaster.pid'))


def start_quietly(cluster):
    """Start after a crash: the first attempts can meet the dead postmaster's lock."""
    return cluster.run([cluster.bin('pg_ctl'), '-D', cluster.data_dir, '-l', cluster.log_file, '-w', 'start'],
                       check=False).returncode == 0


def test_switchover_under_load_loses_nothing_and_the_old_primary_follows(probe_dir):
    rs = ReplicaSet(standbys=2)
    try:
        before = run_module('failover', rs.module_args(action='status'))
        assert before['primary'] == 'n1' and not before['split_brain']
        assert [n['upstream'] for n in before['nodes'] if n['role'] == 'standby'] == ['n1', 'n1']
        started = probe(rs, 'started', probe_dir)
        assert started['changed'] and started['pid']
        plan = run_module('failover', rs.module_args(action='switchover', candidate='n2'), check_mode=True)
        assert rs.role('n1') == 'primary' and plan['plan'][0].startswith('pre-checks')
        assert any(s.startswith('repoint n3') for s in plan['plan'])
        result = run_module('failover', rs.module_args(action='switchover', candidate='n2'))
        wait_step = 'wait until n2 replays %s' % result['shutdown_checkpoint_lsn']
        assert [s['step'] for s in result['steps']][:3] == ['CHECKPOINT on n1', 'stop n1 (fast)', wait_step]
        assert rs.role('n2') == 'primary' and rs.role('n1') == 'standby' and rs.role('n3') == 'standby'
        assert rs.upstream_port('n1') == str(rs.nodes['n2'].port)
        assert rs.upstream_port('n3') == str(rs.nodes['n2'].port)
        assert result['rejoin']['dropped_slots'] == ['n2', 'n3']
        assert wait_for(lambda: rs.nodes['n2'].psql("SELECT count(*) FROM pg_stat_replication "
                                                    "WHERE state = 'streaming'") == '2', 10)
        stopped = probe(rs, 'stopped', probe_dir)
        assert stopped['acknowledged'] > 10 and stopped['lost'] == 0
        assert stopped['max_unavailable_seconds'] < 30
        again = run_module('failover', rs.module_args(action='switchover', candidate='n2', primary='n1'))
        assert again['changed'] is False
        back = run_module('failover', rs.module_args(action='switchover', candidate='n1'))
        assert back['old_primary'] == 'n2' and rs.role('n1') == 'primary' and rs.role('n2') == 'standby'
    finally:
        rs.destroy()


def test_sync_failover_after_kill9_loses_no_acknowledged_commit(probe_dir):
    rs = ReplicaSet(standbys=1, synchronous='n2')
    try:
        probe(rs, 'started', probe_dir)
        assert wait_for(lambda: int(rs.nodes['n1'].psql('SELECT count(*) FROM pgops_write_probe')) > 20, 10)
        kill9_postmaster(rs.nodes['n1'])
        t_kill = time.time()
        result = run_module('failover', rs.module_args(action='failover'))
        assert result['primary'] == 'n2' and result['fenced'] is None and 'n1' in result['needs_rejoin']
        # the writer committed every 20 ms until the kill: measured from then, not from the promotion
        since = result['unavailable_since_last_write_seconds']
        elapsed = time.time() - t_kill
        assert since >= result['write_unavailable_seconds'] and elapsed - 1 <= since <= elapsed + 2, (since, elapsed)
        assert rs.role('n2') == 'primary'
        assert rs.nodes['n2'].psql('SHOW synchronous_standby_names') == ''
        stopped = probe(rs, 'stopped', probe_dir)
        assert stopped['acknowledged'] > 20 and stopped['lost'] == 0, stopped
    finally:
        rs.destroy()


def test_async_failover_reports_the_measured_rpo(probe_dir):
    rs = ReplicaSet(standbys=1)
    try:
        probe(rs, 'started', probe_dir)
        assert wait_for(lambda: int(rs.nodes['n1'].psql('SELECT count(*) FROM pgops_write_probe')) > 20, 10)
        kill9_postmaster(rs.nodes['n1'])
        run_module('failover', rs.module_args(action='failover'))
        stopped = probe(rs, 'stopped', probe_dir)
        assert stopped['acknowledged'] > 20
        assert stopped['lost'] == len(set(stopped['lost_seqs'])) or stopped['lost'] > 50
        survivors = int(rs.nodes['n2'].psql("SELECT count(*) FROM pgops_write_probe WHERE run_id = 't'"))
        assert survivors + stopped['lost'] >= stopped['acknowledged']
    finally:
        rs.destroy()


def test_failover_refuses_a_lagging_candidate_and_rejoin_rewinds_extra_writes():
    rs = ReplicaSet(standbys=2)
    try:
        # n3 stops receiving, the primary goes on writing, then dies.
        rs.nodes['n3'].psql("ALTER SYSTEM SET primary_conninfo = ''; SELECT pg_reload_conf()")
        assert wait_for(lambda: rs.nodes['n3'].psql('SELECT count(*) FROM pg_stat_wal_receiver') == '0', 10)
        rs.nodes['n1'].psql('CREATE TABLE big AS SELECT g, repeat(\'x\', 200) AS pad FROM generate_series(1, 20000) g')
        assert wait_for(lambda: rs.nodes['n2'].psql("SELECT to_regclass('big') IS NOT NULL") == 't', 10)
        kill9_postmaster(rs.nodes['n1'])
        args = rs.module_args(action='failover', candidate='n3', max_lag_bytes=1024)
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', args)
        assert 'refused' in err.value.result['msg'] and 'bytes behind' in err.value.result['msg']
        assert rs.role('n3') == 'standby' and rs.role('n2') == 'standby'
        plan = run_module('failover', rs.module_args(action='failover'), check_mode=True)
        assert plan['primary'] == 'n2' and rs.role('n2') == 'standby'
        assert any('n3 has WAL' in s for s in plan['plan']) is False
        result = run_module('failover', rs.module_args(action='failover'))
        assert result['primary'] == 'n2' and rs.role('n2') == 'primary'
        # The old primary got a standby.signal: started again (by hand, a reboot), it takes no write.
        assert os.path.exists(os.path.join(rs.nodes['n1'].data_dir, 'standby.signal'))
        assert wait_for(lambda: start_quietly(rs.nodes['n1']), 20)
        assert rs.role('n1') == 'standby'
        # Someone removes the signal: it comes back as a primary and takes writes the new timeline never saw.
        rs.nodes['n1'].stop()
        os.unlink(os.path.join(rs.nodes['n1'].data_dir, 'standby.signal'))
        rs.nodes['n1'].start()
        rs.nodes['n1'].psql('CREATE TABLE only_on_old AS SELECT 1 AS x')
        status = run_module('failover', rs.module_args(action='status'))
        assert status['split_brain'] is True
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='switchover', candidate='n3'))
        assert 'split brain' in err.value.result['msg']
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='rejoin', node='n1'))
        assert 'is running' in err.value.result['msg'] and rs.role('n1') == 'primary'
        plan = run_module('failover', rs.module_args(action='rejoin', node='n1', force=True), check_mode=True)
        assert plan['plan'][0] == 'stop n1 (fast)' and rs.role('n1') == 'primary'
        done = run_module('failover', rs.module_args(action='rejoin', node='n1', force=True))
        assert done['rejoin']['rewound'] is True and rs.role('n1') == 'standby'
        assert rs.upstream_port('n1') == str(rs.nodes['n2'].port)
        assert rs.nodes['n1'].psql("SELECT to_regclass('only_on_old') IS NULL") == 't'
        assert run_module('failover', rs.module_args(action='rejoin', node='n1'))['changed'] is False
    finally:
        rs.destroy()


def test_bad_input_changes_nothing():
    rs = ReplicaSet(standbys=1)
    try:
        def next_xid():
            return rs.nodes['n1'].psql('SELECT txid_snapshot_xmax(txid_current_snapshot())')
        before = next_xid()
        status = run_module('failover', rs.module_args(action='status'))
        plan = run_module('failover', rs.module_args(action='switchover', candidate='n2'), check_mode=True)
        assert status['nodes'][0]['role'] == 'primary' and plan['plan']
        assert next_xid() == before, 'status and check mode must not write'
        same = run_module('failover', rs.module_args(action='switchover', candidate='n1'))
        assert same['changed'] is False and same['msg'] == 'n1 is already the primary'
        cases = [
            (dict(action='switchover', primary='n2', candidate='n2'), "is the same node as primary"),
            (dict(action='switchover', primary='n2'), "n2 is not the primary; n1 is"),
            (dict(action='switchover', candidate='nope'), "parameter 'candidate'"),
            (dict(action='switchover', candidate='n2', replication_password=''), "parameter 'replication_password'"),
            (dict(action='rejoin'), "parameter 'node'"),
            (dict(action='switchover', candidate='n2', max_lag_bytes=-1), "parameter 'max_lag_bytes'"),
        ]
        for extra, expected in cases:
            with pytest.raises(ModuleFailed) as err:
                run_module('failover', rs.module_args(**extra))
            assert expected in err.value.result['msg'], (extra, err.value.result['msg'])
        rs.nodes['n2'].psql("ALTER SYSTEM SET primary_conninfo = ''; SELECT pg_reload_conf()")
        assert wait_for(lambda: rs.nodes['n2'].psql('SELECT count(*) FROM pg_stat_wal_receiver') == '0', 10)
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='switchover', candidate='n2'))
        assert 'is not streaming from n1' in err.value.result['msg']
        nodes = rs.node_specs(n1={'local': False})
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='failover', nodes=nodes))
        assert 'cannot be fenced' in err.value.result['msg']
        # a healthy local primary is not stopped by a failover unless that is asked for by name
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='failover'))
        assert 'fence_running_primary=true' in err.value.result['msg'] and 'Nothing was changed' in err.value.result['msg']
        assert rs.role('n1') == 'primary' and rs.role('n2') == 'standby'
    finally:
        rs.destroy()


def test_an_old_primary_that_could_not_stream_refuses_the_switchover_up_front():
    """A wrong replication password: found before anything stops, not after the promotion."""
    rs = ReplicaSet(standbys=1)
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='switchover', candidate='n2',
                                                  replication_password='not-the-password'))
        msg = err.value.result['msg']
        assert 'switchover refused, nothing was changed' in msg and 'would not be able to stream' in msg, msg
        assert 'not-the-password' not in msg
        assert err.value.result.get('changed') is False
        assert rs.role('n1') == 'primary' and rs.role('n2') == 'standby'
    finally:
        rs.destroy()


def test_a_rejoin_that_fails_after_the_promotion_says_the_switchover_happened():
    """Fault: pg_rewind of the old primary fails after the candidate was promoted."""
    rs = ReplicaSet(standbys=1)
    try:
        fake = failing_binary('pg_rewind', ['pg_rewind: error: injected failure'], real_dir=rs.nodes['n1'].bin_dir,
                              base=rs.base)
        args = rs.module_args(action='switchover', candidate='n2', timeout=20,
                              nodes=rs.node_specs(n1={'bin_dir': fake}))
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', args)
        result = err.value.result
        assert result['changed'] is True, result
        assert result['msg'].startswith('The switchover happened (promote n2)'), result['msg']
        assert 'injected failure' in result['msg'] and 'Done before the failure' in result['msg']
        assert rs.role('n2') == 'primary'
    finally:
        rs.destroy()


def test_each_step_before_the_promotion_fails_in_turn_and_is_undone():
    """A switchover whose step fails before the candidate is promoted is undone: the old primary
    runs again, the candidate streams from it with its synchronous_standby_names back, and commits
    are acknowledged. Once the candidate is out of recovery, nothing is undone and the message
    says the switchover happened."""
    rs = ReplicaSet(standbys=1, synchronous='n2')
    n1, n2 = rs.nodes['n1'], rs.nodes['n2']
    n2.psql("ALTER SYSTEM SET synchronous_standby_names = 'n1'")
    n2.psql('SELECT pg_reload_conf()')
    n1.psql('CREATE TABLE acks (i int)')

    def snapshot():
        assert wait_for(lambda: n1.is_running() and rs.upstream_port('n2') == str(n1.port), 30)
        n1.psql('INSERT INTO acks VALUES (1)')  # waits for n2 (synchronous): it is acknowledged
        return dict(roles=(rs.role('n1'), rs.role('n2')), sync_n2=n2.psql('SHOW synchronous_standby_names'),
                    sync_state=n1.psql('SELECT sync_state FROM pg_stat_replication'))
    try:
        seen = []
        before = snapshot()
        for step in range(1, 5):
            with pytest.raises(ModuleFailed) as err:
                run_module('failover', rs.module_args(action='switchover', candidate='n2'),
                           env={'PGOPS_FAULT_AT': str(step)})
            msg = err.value.result['msg']
            seen.append(err.value.result['steps'][-1]['step'].split(' ')[0])
            assert 'The switchover did not happen: n2 is still a standby' in msg, msg
            assert snapshot() == before, msg
        assert seen == ['clear', 'CHECKPOINT', 'stop', 'wait']
        with pytest.raises(ModuleFailed) as err:
            run_module('failover', rs.module_args(action='switchover', candidate='n2'), env={'PGOPS_FAULT_AT': '5'})
        msg = err.value.result['msg']
        assert msg.startswith('The switchover happened (promote n2)') and 'n1 was not started again' in msg, msg
        assert err.value.result['changed'] and rs.role('n2') == 'primary' and not n1.is_running()
        assert int(n2.psql('SELECT count(*) FROM acks')) == 5
    finally:
        rs.destroy()


def _one_primary(rs, primary, other):
    """``primary`` accepts writes; ``other`` is a standby, or stopped and configured as one."""
    rs.nodes[primary].psql('CREATE TABLE IF NOT EXISTS after_fault (i int); INSERT INTO after_fault VALUES (1)')
    o = rs.nodes[other]
    if o.is_running():
        assert rs.role(other) == 'standby'
    else:
        assert os.path.exists(os.path.join(o.data_dir, 'standby.signal'))


@pytest.mark.parametrize('action,first_step', [('switchover', 4), ('failover', 1), ('rejoin', 1)])
def test_each_later_step_fails_in_turn_and_one_primary_serves(action, first_step):
    """Switchover after the promotion, failover (fencing a healthy primary) and rejoin, each step
    failing after it did its work, on a fresh pair each time: one primary accepts writes, the
    other node can never start as a second primary, acknowledged rows are all there, and the
    message says what happened."""
    step, seen = first_step, []
    while True:
        rs = ReplicaSet(standbys=1, synchronous='n2')
        try:
            rs.nodes['n1'].psql('CREATE TABLE acks AS SELECT 1 AS i')  # acknowledged by n2 (synchronous)
            args = rs.module_args(action='switchover', candidate='n2')
            if action == 'failover':
                args = rs.module_args(action='failover', candidate='n2', fence_running_primary=True)
            elif action == 'rejoin':
                run_module('failover', rs.module_args(action='switchover', candidate='n2', rejoin=False))
                args = rs.module_args(action='rejoin', node='n1')
            try:
                run_module('failover', args, env={'PGOPS_FAULT_AT': str(step)})
            except ModuleFailed as err:
                result = err.result
                msg = result['msg']
                acted = [x for x in result['steps'] if not x['step'].startswith(('CHECKPOINT', 'wait ', 'verify '))]
                assert 'injected fault after the step' in msg and result['changed'] is bool(acted), msg
                seen.append(result['steps'][-1]['step'].split(' ')[0])
                if 'did not happen' in msg:
                    assert 'started n1 again as the primary' in msg, msg
                    _one_primary(rs, 'n1', 'n2')
                else:
                    assert action == 'rejoin' or msg.startswith('The %s happened' % action), msg
                    _one_primary(rs, 'n2', 'n1')
                assert rs.nodes['n2'].psql('SELECT count(*) FROM acks') == '1'
                step += 1
                continue
            break
        finally:
            rs.destroy()
    assert seen == {
        'switchover': ['promote', 'verify', 'CHECKPOINT', 'pg_rewind', 'start', 'wait', 'restore'],
        'failover': ['stop', 'wait', 'promote', 'verify'],
        'rejoin': ['CHECKPOINT', 'pg_rewind', 'start', 'wait'],
    }[action], seen
