# SPDX-License-Identifier: GPL-3.0-or-later
"""evaluate() from tables of facts: no database, no I/O."""

import copy

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import health
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

T = health.validate_thresholds({})


def healthy():
    return {
        'server': {
            'version': '15.18', 'version_num': 150018, 'started_at': '2026-11-01 00:00:00+00',
            'uptime_s': 86400.0 * 20, 'in_recovery': False, 'max_connections': 100, 'superuser_reserved': 3,
            'data_directory': '/srv/pg', 'data_checksums': 'on', 'archive_mode': 'on', 'connections': 10,
            'sessions': [], 'prepared': [],
            'databases': [{'datname': 'app', 'datallowconn': True, 'datistemplate': False, 'xid_age': 1000,
                           'mxid_age': 10, 'size_bytes': 10 ** 9, 'xact_commit': 10 ** 6, 'xact_rollback': 10,
                           'blks_read': 1000, 'blks_hit': 10 ** 7, 'deadlocks': 0, 'checksum_failures': 0,
                           'checksum_last_failure': None, 'stats_age_s': 86400.0 * 20}],
            'replication': [{'application_name': 'standby1', 'client_addr': '10.0.0.2', 'state': 'streaming',
                             'sync_state': 'async', 'replay_lag_bytes': 1024.0, 'replay_lag_s': 0.1}],
            'standby': None,
            'slots': [{'slot_name': 'standby1', 'slot_type': 'physical', 'database': None, 'active': True,
                       'wal_status': 'reserved', 'retained_bytes': 4096.0}],
            'archiver': {'failing': False, 'last_failed_time': None, 'last_archived_time': '2026-11-24',
                         'last_failed_wal': None},
            'archive_ready': 1, 'pending_restart': [],
        },
        'databases': {'app': {'table_count': 3, 'tables': [], 'sequences': [], 'invalid_indexes': []}},
        'disk': [{'path': '/srv/pg', 'total_bytes': 100, 'free_bytes': 50, 'free_pct': 50.0}],
        'binaries': {'installed': [15, 18], 'candidate': [15, 18], 'replaced': False,
                     'binary': '/usr/lib/postgresql/15/bin/postgres'},
    }


def problems(facts, thresholds=None, checks=health.CHECKS):
    return sorted((f['id'], f['severity'], f['object'])
                  for f in health.evaluate(facts, thresholds or T, checks) if f['severity'] != 'ok')


def test_healthy_server_has_one_ok_finding_per_check():
    findings = health.evaluate(healthy(), T)
    assert [f['severity'] for f in findings] == ['ok'] * len(health.CHECKS)
    assert sorted(f['id'] for f in findings) == sorted('health.' + c for c in health.CHECKS)


def _session(state, xact_age, query_age, pid=7):
    return {'pid': pid, 'usename': 'app', 'datname': 'app', 'application_name': '', 'client_addr': None,
            'state': state, 'xact_age_s': xact_age, 'query_age_s': query_age, 'query': 'SELECT 1'}


def _table(name, live, dead, analyze_age, vacuum_age, mods=0):
    return {'schemaname': 'public', 'relname': name, 'n_live_tup': live, 'n_dead_tup': dead,
            'n_mod_since_analyze': mods, 'analyze_age_s': analyze_age, 'vacuum_age_s': vacuum_age}


DAY = 86400.0

CASES = [
    # (description, mutate(facts), expected problems)
    ('restart an hour ago is info', lambda f: f['server'].update(uptime_s=60),
     [('health.uptime', 'info', 'server')]),
    ('connections at 85% of usable', lambda f: f['server'].update(connections=83),
     [('health.connections', 'warning', 'server')]),
    ('connections at 96% of usable', lambda f: f['server'].update(connections=94),
     [('health.connections', 'critical', 'server')]),
    ('idle in transaction 10 min', lambda f: f['server']['sessions'].append(_session('idle in transaction', 600, 600)),
     [('health.idle_in_transaction', 'warning', 'pid 7 (app@app)')]),
    ('idle in transaction (aborted) 1 h',
     lambda f: f['server']['sessions'].append(_session('idle in transaction (aborted)', 3600, 3600)),
     [('health.idle_in_transaction', 'critical', 'pid 7 (app@app)')]),
    ('active query 2 h', lambda f: f['server']['sessions'].append(_session('active', 7200, 7200)),
     [('health.long_running_queries', 'critical', 'pid 7 (app@app)')]),
    ('short active query', lambda f: f['server']['sessions'].append(_session('active', 3, 3)), []),
    ('prepared transaction 10 min', lambda f: f['server']['prepared'].append(
        {'gid': 'tx1', 'owner': 'app', 'database': 'app', 'age_s': 600.0}),
     [('health.prepared_transactions', 'warning', 'tx1 (app@app)')]),
    ('xid age 60% of 2^31', lambda f: f['server']['databases'][0].update(xid_age=int(0.6 * 2 ** 31)),
     [('health.xid_wraparound', 'warning', 'app')]),
    ('mxid age 80% of 2^31', lambda f: f['server']['databases'][0].update(mxid_age=int(0.8 * 2 ** 31)),
     [('health.mxid_wraparound', 'critical', 'app')]),
    ('standby 2 GB behind', lambda f: f['server']['replication'][0].update(replay_lag_bytes=2.0 * 1024 ** 3),
     [('health.replication_lag', 'critical', 'standby standby1 (10.0.0.2)')]),
    ('standby 90 s behind', lambda f: f['server']['replication'][0].update(replay_lag_s=90.0),
     [('health.replication_lag', 'warning', 'standby standby1 (10.0.0.2)')]),
    ('standby catching up', lambda f: f['server']['replication'][0].update(state='catchup'),
     [('health.replication_lag', 'warning', 'standby standby1 (10.0.0.2)')]),
    ('this standby has no wal receiver', lambda f: f['server'].update(
        in_recovery=True, standby={'receiver_status': None, 'replay_pending_bytes': 0}),
     [('health.replication_lag', 'critical', 'wal receiver')]),
    ('inactive slot', lambda f: f['server']['slots'][0].update(active=False),
     [('health.replication_slots', 'warning', 'slot standby1')]),
    ('slot retains 20 GB', lambda f: f['server']['slots'][0].update(retained_bytes=20.0 * 1024 ** 3),
     [('health.replication_slots', 'critical', 'slot standby1')]),
    ('slot lost its wal', lambda f: f['server']['slots'][0].update(wal_status='lost'),
     [('health.replication_slots', 'critical', 'slot standby1')]),
    ('archiver failing', lambda f: f['server']['archiver'].update(failing=True),
     [('health.archiver', 'critical', 'archiver')]),
    ('archive backlog of 50', lambda f: f['server'].update(archive_ready=50),
     [('health.archiver', 'warning', 'pg_wal/archive_status')]),
    ('archive backlog ignored when archive_mode off',
     lambda f: f['server'].update(archive_ready=500, archive_mode='off'), []),
    ('cache hit 50%', lambda f: f['server']['databases'][0].update(blks_hit=10 ** 6, blks_read=10 ** 6),
     [('health.cache_hit_ratio', 'warning', 'app')]),
    ('cache hit ignored below the minimum volume', lambda f: f['server']['databases'][0].update(
        blks_hit=10, blks_read=10), []),
    ('rollback 20%', lambda f: f['server']['databases'][0].update(xact_commit=8000, xact_rollback=2000),
     [('health.rollback_ratio', 'warning', 'app')]),
    ('deadlocks 20 a day', lambda f: f['server']['databases'][0].update(deadlocks=400),
     [('health.deadlocks', 'warning', 'app')]),
    ('checksum failure', lambda f: f['server']['databases'][0].update(checksum_failures=1),
     [('health.checksum_failures', 'critical', 'app')]),
    ('pending restart', lambda f: f['server'].update(pending_restart=['shared_buffers']),
     [('health.pending_restart', 'warning', 'server')]),
    ('never analyzed table', lambda f: f['databases']['app']['tables'].append(_table('t', 5000, 0, None, DAY)),
     [('health.table_analyze', 'warning', 'app.public.t')]),
    ('stale statistics', lambda f: f['databases']['app']['tables'].append(
        _table('t', 5000, 0, 10 * DAY, DAY, mods=1000)),
     [('health.table_analyze', 'warning', 'app.public.t')]),
    ('old statistics of an unchanged table are fine', lambda f: f['databases']['app']['tables'].append(
        _table('t', 5000, 0, 100 * DAY, DAY, mods=0)), []),
    ('60% dead rows', lambda f: f['databases']['app']['tables'].append(_table('t', 4000, 6000, DAY, DAY)),
     [('health.table_vacuum', 'critical', 'app.public.t')]),
    ('never vacuumed', lambda f: f['databases']['app']['tables'].append(_table('t', 4000, 0, DAY, None)),
     [('health.table_vacuum', 'info', 'app.public.t')]),
    ('sequence 95% used', lambda f: f['databases']['app']['sequences'].append(
        {'schemaname': 'public', 'sequencename': 's', 'last_value': 95, 'max_value': 100,
         'column_type': 'integer', 'owned_by': 'public.t.id', 'used_pct': 95.0}),
     [('health.sequences', 'critical', 'app.public.s')]),
    ('invalid index', lambda f: f['databases']['app']['invalid_indexes'].append(
        {'schemaname': 'public', 'indexname': 'i', 'tablename': 't'}),
     [('health.invalid_indexes', 'warning', 'app.public.i')]),
    ('disk 15% free', lambda f: f['disk'][0].update(free_pct=15.0),
     [('health.disk_space', 'warning', '/srv/pg')]),
    ('disk 5% free', lambda f: f['disk'][0].update(free_pct=5.0),
     [('health.disk_space', 'critical', '/srv/pg')]),
    ('disk not visible', lambda f: f.update(disk=None),
     [('health.disk_space', 'info', 'data directory')]),
    ('a newer minor installed, the old binary still running',
     lambda f: f['binaries'].update(installed=[15, 20], candidate=[15, 20], replaced=True),
     [('health.minor_version', 'warning', '/usr/lib/postgresql/15/bin/postgres')]),
    ('the package has a newer minor than the one installed and running',
     lambda f: f['binaries'].update(candidate=[15, 20]),
     [('health.minor_version', 'warning', 'postgresql-15')]),
    ('both: installed but not running, and a still newer one packaged',
     lambda f: f['binaries'].update(installed=[15, 19], candidate=[15, 20]),
     [('health.minor_version', 'warning', '/usr/lib/postgresql/15/bin/postgres'),
      ('health.minor_version', 'warning', 'postgresql-15')]),
    ('no package manager: only the installed binary counts', lambda f: f['binaries'].update(candidate=None), []),
    ('the postmaster is not visible (not root, or delegated)', lambda f: f.update(binaries=None),
     [('health.minor_version', 'info', 'server binaries')]),
    ('another major packaged is not a minor upgrade', lambda f: f['binaries'].update(candidate=[16, 2]), []),
]


@pytest.mark.parametrize('mutate,expected', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_raises_exactly_its_finding(mutate, expected):
    facts = copy.deepcopy(healthy())
    mutate(facts)
    assert problems(facts) == expected


def test_database_size_is_off_by_default_and_warns_when_set():
    assert problems(healthy()) == []
    t = health.validate_thresholds({'database_size_warning_bytes': 10 ** 8})
    assert problems(healthy(), t) == [('health.database_size', 'warning', 'app')]


def test_thresholds_change_the_verdict():
    facts = healthy()
    facts['server']['sessions'].append(_session('idle in transaction', 30, 30))
    assert problems(facts) == []
    t = health.validate_thresholds({'idle_in_transaction_warning_seconds': 10})
    assert problems(facts, t) == [('health.idle_in_transaction', 'warning', 'pid 7 (app@app)')]


def test_only_selected_checks_run():
    facts = healthy()
    facts['server']['pending_restart'] = ['shared_buffers']
    findings = health.evaluate(facts, T, ['connections'])
    assert [(f['id'], f['severity']) for f in findings] == [('health.connections', 'ok')]


@pytest.mark.parametrize('raw,param,words', [
    ({'nope': 1}, 'thresholds', 'unknown threshold'),
    ({'connections_warning_pct': 'high'}, 'thresholds.connections_warning_pct', 'not a number'),
    ({'table_min_rows': 1.5}, 'thresholds.table_min_rows', 'not a whole number'),
    ({'table_min_rows': True}, 'thresholds.table_min_rows', 'not a whole number'),
    ({'disk_free_warning_pct': 120}, 'thresholds.disk_free_warning_pct', 'out of range'),
    ({'connections_warning_pct': 99}, 'thresholds.connections_warning_pct', 'above the critical level'),
    ({'disk_free_warning_pct': 5}, 'thresholds.disk_free_warning_pct', 'below disk_free_critical_pct'),
])
def test_bad_thresholds_name_the_parameter_and_the_fix(raw, param, words):
    with pytest.raises(ParameterError) as err:
        health.validate_thresholds(raw)
    assert err.value.param == param
    assert words in err.value.msg and 'Fix:' in err.value.msg


def test_thresholds_accept_numeric_strings_from_templates():
    assert health.validate_thresholds({'table_min_rows': '500'})['table_min_rows'] == 500


def test_unknown_check_names_are_refused():
    with pytest.raises(ParameterError) as err:
        health.select_checks(['connections', 'bloat'], [])
    assert err.value.param == 'checks' and 'bloat' in err.value.msg
    with pytest.raises(ParameterError):
        health.select_checks([], ['nope'])
    assert health.select_checks([], ['disk_space', 'uptime']) == [
        c for c in health.CHECKS if c not in ('disk_space', 'uptime')]


def test_metrics_of_an_unreachable_server():
    assert health.metrics(None) == {'reachable': False}
    m = health.metrics(healthy())
    assert m['databases']['app']['cache_hit_pct'] == pytest.approx(99.99, abs=0.01)
    assert m['databases']['app']['table_count'] == 3
