# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Daily health check: ``collect`` reads facts, ``evaluate`` turns them into findings.

``evaluate`` is pure (no I/O) and is unit-tested from tables of facts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_health as q

XID_LIMIT = 2 ** 31

# name: (default, kind). Kinds: 'int' whole number >= 0, 'num' number >= 0, 'pct' 0..100.
THRESHOLDS = {
    'uptime_info_seconds': (3600, 'int'),
    'connections_warning_pct': (80, 'pct'),
    'connections_critical_pct': (95, 'pct'),
    'idle_in_transaction_warning_seconds': (300, 'num'),
    'idle_in_transaction_critical_seconds': (1800, 'num'),
    'long_query_warning_seconds': (300, 'num'),
    'long_query_critical_seconds': (3600, 'num'),
    'prepared_xact_warning_seconds': (300, 'num'),
    'prepared_xact_critical_seconds': (3600, 'num'),
    'xid_age_warning_pct': (50, 'pct'),
    'xid_age_critical_pct': (75, 'pct'),
    'mxid_age_warning_pct': (50, 'pct'),
    'mxid_age_critical_pct': (75, 'pct'),
    'replication_lag_warning_bytes': (64 * 1024 ** 2, 'int'),
    'replication_lag_critical_bytes': (1024 ** 3, 'int'),
    'replication_lag_warning_seconds': (60, 'num'),
    'replication_lag_critical_seconds': (600, 'num'),
    'slot_retained_warning_bytes': (1024 ** 3, 'int'),
    'slot_retained_critical_bytes': (10 * 1024 ** 3, 'int'),
    'archive_ready_warning': (10, 'int'),
    'archive_ready_critical': (100, 'int'),
    'cache_hit_warning_pct': (90, 'pct'),
    'cache_min_blocks': (100000, 'int'),
    'rollback_warning_pct': (10, 'pct'),
    'rollback_min_transactions': (1000, 'int'),
    'deadlocks_warning_per_day': (10, 'num'),
    'table_min_rows': (1000, 'int'),
    'analyze_stale_days': (7, 'num'),
    'analyze_stale_modified_pct': (10, 'pct'),
    'dead_tuples_warning_pct': (20, 'pct'),
    'dead_tuples_critical_pct': (50, 'pct'),
    'sequence_warning_pct': (75, 'pct'),
    'sequence_critical_pct': (90, 'pct'),
    'database_size_warning_bytes': (0, 'int'),
    'disk_free_warning_pct': (20, 'pct'),
    'disk_free_critical_pct': (10, 'pct'),
    'max_objects_per_check': (50, 'int'),
}

# (warning, critical) pairs where a larger value is worse; the disk pair is the other way round.
_ORDERED = [
    ('connections_warning_pct', 'connections_critical_pct'),
    ('idle_in_transaction_warning_seconds', 'idle_in_transaction_critical_seconds'),
    ('long_query_warning_seconds', 'long_query_critical_seconds'),
    ('prepared_xact_warning_seconds', 'prepared_xact_critical_seconds'),
    ('xid_age_warning_pct', 'xid_age_critical_pct'),
    ('mxid_age_warning_pct', 'mxid_age_critical_pct'),
    ('replication_lag_warning_bytes', 'replication_lag_critical_bytes'),
    ('replication_lag_warning_seconds', 'replication_lag_critical_seconds'),
    ('slot_retained_warning_bytes', 'slot_retained_critical_bytes'),
    ('archive_ready_warning', 'archive_ready_critical'),
    ('dead_tuples_warning_pct', 'dead_tuples_critical_pct'),
    ('sequence_warning_pct', 'sequence_critical_pct'),
]

CHECKS = (
    'server_up', 'uptime', 'connections', 'idle_in_transaction', 'long_running_queries',
    'prepared_transactions', 'xid_wraparound', 'mxid_wraparound', 'replication_lag',
    'replication_slots', 'archiver', 'cache_hit_ratio', 'rollback_ratio', 'deadlocks',
    'checksum_failures', 'pending_restart', 'table_analyze', 'table_vacuum', 'sequences',
    'invalid_indexes', 'database_size', 'disk_space',
)


def validate_thresholds(raw):
    """Defaults overlaid with the user's values; a bad key or value raises ParameterError."""
    result = dict((k, v[0]) for k, v in THRESHOLDS.items())
    for key, value in (raw or {}).items():
        if key not in THRESHOLDS:
            raise ParameterError('thresholds', "unknown threshold '%s'" % key,
                                 "use one of: %s" % ', '.join(sorted(THRESHOLDS)))
        kind = THRESHOLDS[key][1]
        try:
            if isinstance(value, bool):
                raise ValueError()
            number = int(value) if kind == 'int' else float(value)
            if kind == 'int' and float(value) != number:
                raise ValueError()
        except (TypeError, ValueError):
            raise ParameterError('thresholds.%s' % key, "%r is not a %s" % (
                value, 'whole number' if kind == 'int' else 'number'),
                "give a number such as %s" % THRESHOLDS[key][0])
        if number < 0 or (kind == 'pct' and number > 100):
            raise ParameterError('thresholds.%s' % key, "%r is out of range" % (value,),
                                 "give a value from 0%s" % (' to 100' if kind == 'pct' else ' up'))
        result[key] = number
    for warn, crit in _ORDERED:
        if result[warn] > result[crit]:
            raise ParameterError('thresholds.%s' % warn, "the warning level %s is above the critical level %s (%s)"
                                 % (result[warn], result[crit], crit), "make the warning level the lower one")
    if result['disk_free_warning_pct'] < result['disk_free_critical_pct']:
        raise ParameterError('thresholds.disk_free_warning_pct', "it is below disk_free_critical_pct",
                             "warn at more free space than the critical level")
    return result


def select_checks(checks, skip_checks):
    """The checks to run, in canonical order; unknown names raise ParameterError."""
    for param, names in (('checks', checks), ('skip_checks', skip_checks)):
        unknown = sorted(set(names or []) - set(CHECKS))
        if unknown:
            raise ParameterError(param, "unknown check name(s) %s" % ', '.join(unknown),
                                 "use names from: %s" % ', '.join(CHECKS))
    wanted = set(checks or CHECKS) - set(skip_checks or [])
    return [c for c in CHECKS if c in wanted]


# --------------------------------------------------------------------------- collect

def collect_server(session):
    """Server-wide facts in one statement (after the privilege probe)."""
    return session.fetch_one(q.SERVER, {})


def probe(session):
    return session.fetch_one(q.PRIVILEGES)


def database_params(t):
    return {
        'min_rows': int(t['table_min_rows']),
        'analyze_stale_s': float(t['analyze_stale_days']) * 86400,
        'analyze_mod_ratio': float(t['analyze_stale_modified_pct']) / 100.0,
        'dead_ratio': float(t['dead_tuples_warning_pct']) / 100.0,
        'seq_pct': float(t['sequence_warning_pct']),
        'max_objects': int(t['max_objects_per_check']),
    }


def collect_database(session, thresholds):
    """Per-database object facts in one statement."""
    return session.fetch_one(q.DATABASE, database_params(thresholds))


def _fs(path):
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    free = st.f_bavail * st.f_frsize
    return {'path': path, 'device': os.stat(path).st_dev, 'total_bytes': total, 'free_bytes': free,
            'free_pct': round(100.0 * free / total, 2) if total else None}


def collect_disk(data_directory):
    """Free space of the data directory and of pg_wal (when on another file system)."""
    if not data_directory or not os.path.isdir(data_directory):
        return None
    result = [_fs(data_directory)]
    wal = os.path.realpath(os.path.join(data_directory, 'pg_wal'))
    if os.path.isdir(wal):
        wal_fs = _fs(wal)
        if wal_fs['device'] != result[0]['device']:
            result.append(wal_fs)
    for item in result:
        del item['device']
    return result


# --------------------------------------------------------------------------- evaluate

def _sev(value, warn, crit, higher_is_worse=True):
    if value is None:
        return None
    if higher_is_worse:
        if value >= crit:
            return 'critical'
        if value >= warn:
            return 'warning'
    else:
        if value <= crit:
            return 'critical'
        if value <= warn:
            return 'warning'
    return None


def _hid(check):
    return 'health.' + check


def _c_uptime(f, t):
    if f['server']['uptime_s'] < t['uptime_info_seconds']:
        return [finding(_hid('uptime'), 'info', 'The server restarted recently',
                        observed='up %d s, started %s' % (f['server']['uptime_s'], f['server']['started_at']),
                        expected='up more than %d s' % t['uptime_info_seconds'],
                        remediation='Check the server log for the reason of the restart (crash, OOM killer, '
                                    'planned maintenance).')]
    return []


def _c_connections(f, t):
    s = f['server']
    usable = max(s['max_connections'] - s['superuser_reserved'], 1)
    pct = 100.0 * s['connections'] / usable
    sev = _sev(pct, t['connections_warning_pct'], t['connections_critical_pct'])
    if not sev:
        return []
    return [finding(_hid('connections'), sev, 'Client connections are close to max_connections',
                    observed='%d of %d usable (%.0f%%)' % (s['connections'], usable, pct),
                    expected='below %s%%' % t['connections_warning_pct'],
                    remediation='Find idle clients (pg_stat_activity), use a pooler such as pgbouncer, '
                                'or raise max_connections (needs a restart).')]


def _session_check(check, f, t, state_filter, age_key, warn_key, crit_key, title, remediation):
    out = []
    for s in f['server']['sessions']:
        if not state_filter(s['state']) or s.get(age_key) is None:
            continue
        sev = _sev(s[age_key], t[warn_key], t[crit_key])
        if sev:
            out.append(finding(_hid(check), sev, title,
                               obj='pid %s (%s@%s)' % (s['pid'], s['usename'], s['datname']),
                               observed='%d s, state %s, query: %s' % (s[age_key], s['state'], s['query']),
                               expected='under %s s' % t[warn_key], remediation=remediation))
    return out


def _c_idle_in_transaction(f, t):
    return _session_check(
        'idle_in_transaction', f, t, lambda st: (st or '').startswith('idle in transaction'), 'xact_age_s',
        'idle_in_transaction_warning_seconds', 'idle_in_transaction_critical_seconds',
        'A session is idle in an open transaction',
        'It holds locks and blocks vacuum. Fix the client, or end it with pg_terminate_backend(pid); '
        'set idle_in_transaction_session_timeout.')


def _c_long_running_queries(f, t):
    return _session_check(
        'long_running_queries', f, t, lambda st: st == 'active', 'query_age_s',
        'long_query_warning_seconds', 'long_query_critical_seconds', 'A query has been running for long',
        'Check the plan and locks (pg_locks); cancel with pg_cancel_backend(pid) if it is not expected; '
        'consider statement_timeout.')


def _c_prepared_transactions(f, t):
    out = []
    for p in f['server']['prepared']:
        sev = _sev(p['age_s'], t['prepared_xact_warning_seconds'], t['prepared_xact_critical_seconds'])
        if sev:
            out.append(finding(_hid('prepared_transactions'), sev, 'A prepared transaction is left open',
                               obj='%s (%s@%s)' % (p['gid'], p['owner'], p['database']),
                               observed='prepared %d s ago' % p['age_s'],
                               expected='under %s s' % t['prepared_xact_warning_seconds'],
                               remediation='Ask the transaction manager to finish it, or run COMMIT PREPARED / '
                                           'ROLLBACK PREPARED with its gid. It holds back vacuum.'))
    return out


def _wrap(kind, f, t):
    out = []
    for d in f['server']['databases']:
        age = d.get(kind + '_age')
        if age is None:
            continue
        pct = 100.0 * age / XID_LIMIT
        sev = _sev(pct, t[kind + '_age_warning_pct'], t[kind + '_age_critical_pct'])
        if sev:
            name = 'transaction ID' if kind == 'xid' else 'multixact ID'
            out.append(finding(_hid(kind + '_wraparound'), sev, 'Database is approaching %s wraparound' % name,
                               obj=d['datname'], observed='age %d (%.1f%% of 2^31)' % (age, pct),
                               expected='below %s%%' % t[kind + '_age_warning_pct'],
                               remediation='Run VACUUM (FREEZE) on the oldest tables of the database; look for '
                                           'long transactions, prepared transactions and stale slots that '
                                           'hold the horizon back.'))
    return out


def _c_replication_lag(f, t):
    out = []
    for r in f['server']['replication']:
        obj = 'standby %s (%s)' % (r['application_name'] or '?', r['client_addr'] or 'local')
        for value, unit in ((r.get('replay_lag_bytes'), 'bytes'), (r.get('replay_lag_s'), 'seconds')):
            sev = _sev(value, t['replication_lag_warning_' + unit], t['replication_lag_critical_' + unit])
            if sev:
                out.append(finding(_hid('replication_lag'), sev, 'A standby is lagging behind',
                                   obj=obj, observed='%d %s behind, state %s, %s' % (
                                       value, unit, r['state'], r['sync_state']),
                                   expected='under %s %s' % (t['replication_lag_warning_' + unit], unit),
                                   remediation='Check the standby for replay conflicts, I/O, or a network '
                                               'problem; check pg_stat_replication.'))
        if r['state'] != 'streaming':
            out.append(finding(_hid('replication_lag'), 'warning', 'A standby is not streaming', obj=obj,
                               observed=r['state'], expected='streaming',
                               remediation='A standby in catchup/backup state is still syncing; if it stays '
                                           'so, check its log.'))
    sb = f['server'].get('standby')
    if sb:
        if sb.get('receiver_status') != 'streaming':
            out.append(finding(_hid('replication_lag'), 'critical', 'This standby is not receiving WAL',
                               obj='wal receiver', observed=sb.get('receiver_status') or 'not running',
                               expected='streaming',
                               remediation='Check primary_conninfo, the replication slot, pg_hba.conf on the '
                                           'primary, and this server log.'))
        sev = _sev(sb.get('replay_pending_bytes'), t['replication_lag_warning_bytes'],
                   t['replication_lag_critical_bytes'])
        if sev:
            out.append(finding(_hid('replication_lag'), sev, 'This standby has received WAL it has not replayed',
                               obj='replay', observed='%d bytes' % sb['replay_pending_bytes'],
                               expected='under %s bytes' % t['replication_lag_warning_bytes'],
                               remediation='Replay is slow or paused (pg_is_wal_replay_paused()); look for '
                                           'recovery conflicts and I/O saturation.'))
    return out


def _c_replication_slots(f, t):
    out = []
    for s in f['server']['slots']:
        obj = 'slot %s' % s['slot_name']
        if s.get('wal_status') in ('lost', 'unreserved'):
            out.append(finding(_hid('replication_slots'), 'critical', 'A replication slot lost or is losing WAL',
                               obj=obj, observed='wal_status %s' % s['wal_status'], expected='reserved',
                               remediation='Its consumer can no longer catch up: rebuild the standby or '
                                           'subscriber and drop the slot.'))
        elif not s['active']:
            out.append(finding(_hid('replication_slots'), 'warning', 'A replication slot is inactive', obj=obj,
                               observed='inactive, retains %s bytes' % int(s.get('retained_bytes') or 0),
                               expected='active',
                               remediation='Reconnect its consumer, or drop it with '
                                           'pg_drop_replication_slot() if it is no longer used.'))
        sev = _sev(s.get('retained_bytes'), t['slot_retained_warning_bytes'], t['slot_retained_critical_bytes'])
        if sev:
            out.append(finding(_hid('replication_slots'), sev, 'A replication slot retains much WAL', obj=obj,
                               observed='%d bytes' % s['retained_bytes'],
                               expected='under %s bytes' % t['slot_retained_warning_bytes'],
                               remediation='The consumer is behind or gone; set max_slot_wal_keep_size to '
                                           'protect the disk.'))
    return out


def _c_archiver(f, t):
    s = f['server']
    if s['archive_mode'] == 'off':
        return []
    out = []
    a = s.get('archiver') or {}
    if a.get('failing'):
        out.append(finding(_hid('archiver'), 'critical', 'WAL archiving is failing', obj='archiver',
                           observed='last failure %s on %s; last success %s' % (
                               a.get('last_failed_time'), a.get('last_failed_wal'), a.get('last_archived_time')),
                           expected='no failure since the last success',
                           remediation='Read the server log for archive_command errors; check the backup '
                                       'repository (pgbackrest check). pg_wal grows until it works again.'))
    sev = _sev(s.get('archive_ready'), t['archive_ready_warning'], t['archive_ready_critical'])
    if sev:
        out.append(finding(_hid('archiver'), sev, 'WAL segments are waiting to be archived',
                           obj='pg_wal/archive_status', observed='%d .ready files' % s['archive_ready'],
                           expected='under %s' % t['archive_ready_warning'],
                           remediation='Archiving is slow or failing; check archive_command and the repository.'))
    return out


def _ratio_check(check, f, t, title, compute, remediation):
    out = []
    for d in f['server']['databases']:
        result = compute(d, t)
        if result:
            observed, expected = result
            out.append(finding(_hid(check), 'warning', title, obj=d['datname'], observed=observed,
                               expected=expected, remediation=remediation))
    return out


def _cache(d, t):
    hit, read = d.get('blks_hit') or 0, d.get('blks_read') or 0
    if hit + read < t['cache_min_blocks']:
        return None
    pct = 100.0 * hit / (hit + read)
    if pct < t['cache_hit_warning_pct']:
        return '%.2f%% of %d block reads' % (pct, hit + read), 'at least %s%%' % t['cache_hit_warning_pct']
    return None


def _rollback(d, t):
    c, r = d.get('xact_commit') or 0, d.get('xact_rollback') or 0
    if c + r < t['rollback_min_transactions']:
        return None
    pct = 100.0 * r / (c + r)
    if pct >= t['rollback_warning_pct']:
        return '%.2f%% of %d transactions' % (pct, c + r), 'under %s%%' % t['rollback_warning_pct']
    return None


def _deadlocks(d, t):
    count = d.get('deadlocks') or 0
    days = max((d.get('stats_age_s') or 0) / 86400.0, 1.0)
    if count and count / days >= t['deadlocks_warning_per_day']:
        return '%d deadlocks in %.1f days' % (count, days), 'under %s a day' % t['deadlocks_warning_per_day']
    return None


def _c_cache_hit_ratio(f, t):
    return _ratio_check('cache_hit_ratio', f, t, 'Low buffer cache hit ratio', _cache,
                        'Check shared_buffers and the queries doing sequential scans (pg_stat_statements).')


def _c_rollback_ratio(f, t):
    return _ratio_check('rollback_ratio', f, t, 'Many transactions roll back', _rollback,
                        'An application is failing: read the server log for the errors behind the rollbacks.')


def _c_deadlocks(f, t):
    return _ratio_check('deadlocks', f, t, 'Deadlocks happen often', _deadlocks,
                        'Deadlock details are in the server log; make the application take locks in one order.')


def _c_checksum_failures(f, t):
    out = []
    for d in f['server']['databases']:
        if d.get('checksum_failures'):
            out.append(finding(_hid('checksum_failures'), 'critical', 'Data checksum failures were detected',
                               obj=d['datname'] or '(shared catalogs)',
                               observed='%d failures, last %s' % (d['checksum_failures'], d['checksum_last_failure']),
                               expected='0', remediation='Storage is corrupting data: check the disks, restore '
                                                         'damaged relations from backup, run amcheck.'))
    return out


def _c_pending_restart(f, t):
    names = f['server']['pending_restart']
    if not names:
        return []
    return [finding(_hid('pending_restart'), 'warning', 'Settings are waiting for a restart',
                    observed=', '.join(names), expected='none',
                    remediation='Plan a restart in a maintenance window (cluster_service state=restarted).')]


def _c_table_analyze(f, t):
    out = []
    stale_s = t['analyze_stale_days'] * 86400
    for db, facts in sorted(f['databases'].items()):
        for tb in facts['tables']:
            obj = '%s.%s.%s' % (db, tb['schemaname'], tb['relname'])
            if tb['analyze_age_s'] is None:
                out.append(finding(_hid('table_analyze'), 'warning', 'A table has never been analyzed', obj=obj,
                                   observed='%d rows, no statistics' % tb['n_live_tup'],
                                   expected='analyzed', remediation='Run ANALYZE on it; check that autovacuum '
                                                                    'is on and not blocked.'))
            elif (tb['analyze_age_s'] >= stale_s and
                  tb['n_mod_since_analyze'] >= t['analyze_stale_modified_pct'] / 100.0 * max(tb['n_live_tup'], 1)):
                out.append(finding(_hid('table_analyze'), 'warning', 'Table statistics are stale', obj=obj,
                                   observed='analyzed %.1f days ago, %d rows changed since' % (
                                       tb['analyze_age_s'] / 86400.0, tb['n_mod_since_analyze']),
                                   expected='analyzed within %s days' % t['analyze_stale_days'],
                                   remediation='Run ANALYZE; lower autovacuum_analyze_scale_factor for the table.'))
    return out


def _c_table_vacuum(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for tb in facts['tables']:
            obj = '%s.%s.%s' % (db, tb['schemaname'], tb['relname'])
            total = tb['n_live_tup'] + tb['n_dead_tup']
            pct = 100.0 * tb['n_dead_tup'] / total if total else 0.0
            sev = _sev(pct, t['dead_tuples_warning_pct'], t['dead_tuples_critical_pct'])
            if sev:
                out.append(finding(_hid('table_vacuum'), sev, 'A table has many dead rows', obj=obj,
                                   observed='%.1f%% dead (%d of %d)' % (pct, tb['n_dead_tup'], total),
                                   expected='under %s%%' % t['dead_tuples_warning_pct'],
                                   remediation='Run VACUUM on it; look for long transactions holding the '
                                               'horizon; tune autovacuum for the table.'))
            elif tb['vacuum_age_s'] is None:
                out.append(finding(_hid('table_vacuum'), 'info', 'A table has never been vacuumed', obj=obj,
                                   observed='%d rows' % tb['n_live_tup'], expected='vacuumed once',
                                   remediation='Run VACUUM (ANALYZE) so the visibility map and statistics exist.'))
    return out


def _c_sequences(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for s in facts['sequences']:
            sev = _sev(s['used_pct'], t['sequence_warning_pct'], t['sequence_critical_pct'])
            if sev:
                limit = 'max %d' % s['max_value']
                if s.get('owned_by'):
                    limit += ' (column %s is %s)' % (s['owned_by'], s['column_type'])
                out.append(finding(_hid('sequences'), sev, 'A sequence is close to exhaustion',
                                   obj='%s.%s.%s' % (db, s['schemaname'], s['sequencename']),
                                   observed='%.1f%% used: last value %d, %s' % (s['used_pct'], s['last_value'], limit),
                                   expected='under %s%%' % t['sequence_warning_pct'],
                                   remediation='Change the column and the sequence to bigint (ALTER TABLE ... '
                                               'ALTER COLUMN ... TYPE bigint; ALTER SEQUENCE ... AS bigint).'))
    return out


def _c_invalid_indexes(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for i in facts['invalid_indexes']:
            out.append(finding(_hid('invalid_indexes'), 'warning', 'An index is invalid',
                               obj='%s.%s.%s' % (db, i['schemaname'], i['indexname']),
                               observed='invalid index on %s' % i['tablename'], expected='valid',
                               remediation='A CREATE INDEX CONCURRENTLY or REINDEX failed: DROP INDEX '
                                           'CONCURRENTLY and create it again, or REINDEX INDEX CONCURRENTLY.'))
    return out


def _c_database_size(f, t):
    limit = t['database_size_warning_bytes']
    if not limit:
        return []
    return [finding(_hid('database_size'), 'warning', 'A database is larger than the configured size',
                    obj=d['datname'], observed='%d bytes' % d['size_bytes'], expected='under %d bytes' % limit,
                    remediation='Plan capacity: archive or partition old data, or raise the threshold.')
            for d in f['server']['databases'] if d.get('size_bytes') and d['size_bytes'] >= limit]


def _c_disk_space(f, t):
    if f.get('disk') is None:
        return [finding(_hid('disk_space'), 'info', 'Disk space was not assessed', obj='data directory',
                        observed='the data directory is not visible where the module ran',
                        expected='module runs on the database host',
                        remediation='Run the health check on the database host (not delegated) to see disk space.')]
    out = []
    for fs in f['disk']:
        sev = _sev(fs['free_pct'], t['disk_free_warning_pct'], t['disk_free_critical_pct'], higher_is_worse=False)
        if sev:
            out.append(finding(_hid('disk_space'), sev, 'Little free disk space', obj=fs['path'],
                               observed='%.1f%% free (%d bytes)' % (fs['free_pct'], fs['free_bytes']),
                               expected='more than %s%% free' % t['disk_free_warning_pct'],
                               remediation='Free space or grow the file system before PostgreSQL stops '
                                           '(a full pg_wal makes the server PANIC).'))
    return out


_EVALUATORS = {
    'uptime': _c_uptime,
    'connections': _c_connections,
    'idle_in_transaction': _c_idle_in_transaction,
    'long_running_queries': _c_long_running_queries,
    'prepared_transactions': _c_prepared_transactions,
    'xid_wraparound': lambda f, t: _wrap('xid', f, t),
    'mxid_wraparound': lambda f, t: _wrap('mxid', f, t),
    'replication_lag': _c_replication_lag,
    'replication_slots': _c_replication_slots,
    'archiver': _c_archiver,
    'cache_hit_ratio': _c_cache_hit_ratio,
    'rollback_ratio': _c_rollback_ratio,
    'deadlocks': _c_deadlocks,
    'checksum_failures': _c_checksum_failures,
    'pending_restart': _c_pending_restart,
    'table_analyze': _c_table_analyze,
    'table_vacuum': _c_table_vacuum,
    'sequences': _c_sequences,
    'invalid_indexes': _c_invalid_indexes,
    'database_size': _c_database_size,
    'disk_space': _c_disk_space,
}

_OK_TITLES = {
    'server_up': 'The server accepts connections',
}


def evaluate(facts, thresholds, checks=CHECKS):
    """Findings for ``facts``: the problems found, and one ``ok`` finding per clean check.

    ``facts``: {'server': {...}, 'databases': {name: {...}}, 'disk': [...] or None}.
    """
    findings = []
    for check in checks:
        if check == 'server_up':
            problems = []
        else:
            problems = _EVALUATORS[check](facts, thresholds)
        if problems:
            findings.extend(problems)
        else:
            title = _OK_TITLES.get(check, 'No problem found: %s' % check.replace('_', ' '))
            findings.append(finding(_hid(check), 'ok', title))
    return findings


def unreachable_finding(message):
    return finding(_hid('server_up'), 'critical', 'The server cannot be reached', observed=message,
                   expected='accepts connections',
                   remediation='Start the cluster or fix the connection; see the message for the cause.')


def _pct(part, whole):
    return round(100.0 * part / whole, 2) if whole else None


def metrics(facts):
    """The figures behind the findings, for trending and the report's metrics table."""
    if facts is None:
        return {'reachable': False}
    s = facts['server']
    states = {}
    for sess in s['sessions']:
        states[sess['state'] or 'unknown'] = states.get(sess['state'] or 'unknown', 0) + 1
    per_db = {}
    for d in s['databases']:
        hit, read = d.get('blks_hit') or 0, d.get('blks_read') or 0
        c, r = d.get('xact_commit') or 0, d.get('xact_rollback') or 0
        per_db[d['datname'] or '(shared)'] = {
            'size_bytes': d.get('size_bytes'),
            'xid_age': d.get('xid_age'),
            'mxid_age': d.get('mxid_age'),
            'cache_hit_pct': _pct(hit, hit + read),
            'rollback_pct': _pct(r, c + r),
            'deadlocks': d.get('deadlocks'),
            'checksum_failures': d.get('checksum_failures'),
            'table_count': (facts['databases'].get(d['datname']) or {}).get('table_count'),
        }
    return {
        'reachable': True,
        'version': s['version'],
        'version_num': s['version_num'],
        'started_at': s['started_at'],
        'uptime_s': int(s['uptime_s']),
        'in_recovery': s['in_recovery'],
        'data_directory': s['data_directory'],
        'data_checksums': s['data_checksums'],
        'connections': s['connections'],
        'max_connections': s['max_connections'],
        'superuser_reserved_connections': s['superuser_reserved'],
        'sessions_by_state': states,
        'prepared_transactions': len(s['prepared']),
        'databases': per_db,
        'replication': s['replication'],
        'standby': s['standby'],
        'slots': s['slots'],
        'archive_mode': s['archive_mode'],
        'archiver': s['archiver'],
        'archive_ready': s['archive_ready'],
        'pending_restart': s['pending_restart'],
        'disk': facts['disk'],
    }
