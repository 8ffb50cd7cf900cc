# SPDX-License-Identifier: GPL-3.0-or-later
"""pitr_restore with real pgBackRest: exactly the rows committed before the target come back."""

import os
import time

import pytest

from tests.harness.faults import failing_binary
from tests.harness.pgbackrest import Stanza
from tests.harness.pgcluster import ModuleFailed, run_module


def archived(c):
    """Switch WAL in its own statement and wait until that segment is archived."""
    segment = c.psql('SELECT pg_walfile_name(pg_switch_wal())')
    for dummy in range(100):
        if c.psql('SELECT last_archived_wal FROM pg_stat_archiver') >= segment:
            return
        time.sleep(0.1)
    raise AssertionError('segment %s was not archived' % segment)


@pytest.fixture()
def history():
    s = Stanza().start()
    c = s.cluster
    c.psql('CREATE TABLE t (i int)')
    s.backup('full')
    time.sleep(1.1)  # pgBackRest records the backup's stop time in whole seconds
    c.psql('INSERT INTO t VALUES (1)')
    archived(c)
    marks = {'time': c.psql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")}
    time.sleep(1.1)
    c.psql('INSERT INTO t VALUES (2)')
    c.psql("SELECT pg_create_restore_point('before-three')")
    c.psql('INSERT INTO t VALUES (3)')
    marks['lsn'] = c.psql('SELECT pg_current_wal_lsn()')
    marks['lsn_segment'] = c.psql('SELECT pg_walfile_name(pg_current_wal_lsn())')
    c.psql('INSERT INTO t VALUES (4)')
    archived(c)
    yield s, marks
    s.destroy()


def args(s, **extra):
    a = dict(stanza=s.name, config=s.config, data_dir=s.cluster.data_dir, bin_dir=s.cluster.bin_dir,
             service_manager='pg_ctl', timeout=120)
    a.update(extra)
    return a


def rows(c):
    return c.psql('SELECT string_agg(i::text, \',\' ORDER BY i) FROM t')


@pytest.mark.parametrize('target_type,mark,expected', [
    ('time', 'time', '1'),
    ('name', None, '1,2'),
    ('lsn', 'lsn', '1,2,3'),
])
def test_pitr_restores_exactly_the_rows_before_the_target(history, target_type, mark, expected):
    s, marks = history
    target = marks[mark] if mark else 'before-three'
    with pytest.raises(ModuleFailed) as err:
        run_module('pitr_restore', args(s, target_type=target_type, target=target))
    assert 'is running' in err.value.result['msg']
    s.cluster.stop()
    plan = run_module('pitr_restore', args(s, target_type=target_type, target=target), check_mode=True)
    assert '--archive-mode=off' in plan['command'] and '--type=%s' % target_type in plan['command']
    assert plan['backup_set'] and not s.cluster.is_running()
    result = run_module('pitr_restore', args(s, target_type=target_type, target=target))
    assert result['recovery']['timeline'] == 2 and result['recovery']['in_recovery'] is False
    assert rows(s.cluster) == expected
    assert set(result['timings']) >= {'restore', 'start', 'total'}


def test_stop_running_stops_a_running_cluster_and_utc_targets_work(history):
    s, marks = history
    target = marks['time'].replace('+00', ' UTC')  # pgBackRest 2.45 needs a numeric offset: normalised
    plan = run_module('pitr_restore', args(s, target_type='time', target=target, stop_running=True), check_mode=True)
    assert plan['would_stop'] and s.cluster.is_running()
    assert [a for a in plan['command'] if a.startswith('--target=')][0].endswith('+00')
    result = run_module('pitr_restore', args(s, target_type='time', target=target, stop_running=True))
    assert 'stop' in result['timings'] and rows(s.cluster) == '1'
    assert result['recovery']['in_recovery'] is False and s.cluster.psql('SELECT pg_is_in_recovery()') == 'f'


def test_refusals_are_checked_before_the_running_cluster_is_stopped(history):
    """Each refusal has its own override, and none of them stops the running cluster first."""
    s, marks = history
    future = time.strftime('%Y-%m-%d %H:%M:%S+00', time.gmtime(time.time() + 3600))
    for extra, words in (
            ({'target_type': 'time', 'target': future, 'allow_outside_window': True}, 'in the future'),
            ({'target_type': 'time', 'target': '2001-01-01 00:00:00+00'}, 'allow_outside_window=true'),
            ({'target_type': 'immediate', 'set': '20010101-000000F'}, "has no backup '20010101-000000F'"),
    ):
        with pytest.raises(ModuleFailed) as err:
            run_module('pitr_restore', args(s, stop_running=True, **extra))
        assert words in err.value.result['msg'], err.value.result['msg']
        assert s.cluster.is_running()


def test_a_failed_restore_starts_the_cluster_it_stopped(history):
    import shutil
    s, marks = history
    d = failing_binary('pgbackrest', ['P00  ERROR: [038]: injected failure', 'HINT: this is a test'], when='restore')
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('pitr_restore', args(s, target_type='immediate', stop_running=True),
                       env={'PATH': d + os.pathsep + os.environ['PATH']})
    finally:
        shutil.rmtree(d)
    msg = err.value.result['msg']
    # the ERROR line and the HINT, not the HINT alone
    assert 'ERROR: [038]: injected failure' in msg and 'HINT: this is a test' in msg, msg
    assert 'started again: it runs as before' in msg, msg
    assert s.cluster.is_running() and rows(s.cluster) == '1,2,3,4'


def test_a_restore_point_that_does_not_exist_fails_at_once(history):
    s, marks = history
    s.cluster.stop()
    started = time.time()
    with pytest.raises(ModuleFailed) as err:
        run_module('pitr_restore', args(s, target_type='name', target='never-created', timeout=300))
    msg = err.value.result['msg']
    assert time.time() - started < 60, 'waited for the timeout'
    assert 'recovery ended before configured recovery target was reached' in msg, msg


@pytest.mark.parametrize('extra,words', [
    ({'target_type': 'time', 'target': '2026-11-24 03:00:00'}, 'has no time zone'),
    ({'target_type': 'time', 'target': 'yesterday+00'}, 'is not a time'),
    ({'target_type': 'time', 'target': '2001-01-01 00:00:00+00'}, 'before the end of the oldest backup'),
    ({'target_type': 'name'}, 'needs a value'),
    ({'target_type': 'time', 'target': 'NOW'}, 'after the newest archived WAL'),
    ({'target_type': 'immediate', 'stanza': 'nope'}, "'nope' is not in the repository"),
])
def test_bad_input_changes_nothing(history, extra, words):
    s, marks = history
    s.cluster.stop()
    if extra.get('target') == 'NOW':
        time.sleep(2)
        extra = dict(extra, target=time.strftime('%Y-%m-%d %H:%M:%S+00', time.gmtime()))
    with pytest.raises(ModuleFailed) as err:
        run_module('pitr_restore', args(s, **extra))
    assert words in err.value.result['msg']
    assert not any(cmd[-1] == 'restore' for cmd in err.value.result.get('commands', []))


def test_missing_wal_before_the_target_fails_clearly(history):
    import glob
    import os
    s, marks = history
    s.cluster.stop()
    # remove the archived segment that holds the target LSN
    victims = glob.glob(os.path.join(s.repo, 'archive', s.name, '*', '*', marks['lsn_segment'] + '-*'))
    assert len(victims) == 1, victims
    os.unlink(victims[0])
    with pytest.raises(ModuleFailed) as err:
        run_module('pitr_restore', args(s, target_type='lsn', target=marks['lsn'], timeout=60))
    msg = err.value.result['msg']
    # the server stops at once ("recovery ended before configured recovery target was reached"),
    # and the module says so with the server's own line instead of waiting for its timeout
    assert 'Fix:' in msg and 'recovery ended before configured recovery target was reached' in msg, msg


def test_not_empty_foreign_directory_is_refused(history, tmp_path):
    s, marks = history
    (tmp_path / 'notes.txt').write_text('not a data directory')
    with pytest.raises(ModuleFailed) as err:
        run_module('pitr_restore', args(s, target_type='immediate', data_dir=str(tmp_path)))
    assert "parameter 'data_dir'" in err.value.result['msg'] and (tmp_path / 'notes.txt').exists()


def test_each_step_fails_in_turn_and_the_message_names_the_state(history):
    """Stop, restore, start, wait for promotion, each failing after it did its work. Before the
    restore ran, the cluster is started again as it was; after it, the previous data is gone by
    design, and the message says what the directory holds and whether the server runs."""
    s, marks = history
    a = args(s, target_type='name', target='before-three', stop_running=True)
    seen = []
    for step in range(1, 5):
        if not s.cluster.is_running():
            s.cluster.start()
        with pytest.raises(ModuleFailed) as err:
            run_module('pitr_restore', a, env={'PGOPS_FAULT_AT': str(step)})
        result = err.value.result
        msg = result['msg']
        seen.append(result['steps'][-1]['step'])
        assert 'injected fault after the step' in msg and result['changed'] is True, msg
        if step == 1:
            assert 'started again: it runs as before' in msg and rows(s.cluster) == '1,2,3,4', msg
        else:
            assert 'now holds backup set' in msg and 'the previous data is not kept' in msg, msg
            assert ('the server is stopped' if step == 2 else 'the server is running') in msg, msg
            assert s.cluster.is_running() is (step != 2)
    assert seen == ['stop the cluster', 'pgbackrest restore', 'start the restored cluster',
                    'wait for the end of recovery']
    s.cluster.stop()
    done = run_module('pitr_restore', dict(a, stop_running=False))
    assert rows(s.cluster) == '1,2' and [x['step'] for x in done['steps']] == seen[1:]
