# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Prometheus alert rules from the check registries: one source of truth for the limits.

Each ``Alert`` names the check whose finding it stands for, a PromQL expression of the value that
check compares (read from prometheus-postgres-exporter's metrics and the queries of
roles/monitoring/files/pgops-queries.yaml, or from the role's pgbouncer exporter,
roles/monitoring/files/pgops_pgbouncer_exporter.py) and the names of the
check's warning and critical thresholds. ``rules(...)`` writes a warning rule (at or past the warning
level, short of the critical one) and a critical rule, with the thresholds the daily check uses, so
a limit changed in the inventory changes both. An alert without thresholds has a fixed severity.

``sample(value)`` gives input series for which the alert's value is ``value``: the tests build a
``promtool test rules`` file from it for every rule, below, at the warning and at the critical level.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import health, pools
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

REGISTRIES = {'health': health.REGISTRY, 'pool': pools.REGISTRY}
XID_RANGE = 2 ** 31


class Alert(object):
    """One alert. ``value``: PromQL of the compared value; ``warning``/``critical``: threshold names
    (higher is worse unless ``lower_is_worse``); ``condition``/``severity`` instead for a fixed alert;
    ``guard``: a further condition joined with ``and``; ``sample(v)``: [(series, values)] and the
    labels the alert carries (one value a minute); ``fires``: for a fixed alert, a sample value that
    fires it and one that does not."""

    __slots__ = ('check', 'name', 'value', 'warning', 'critical', 'lower_is_worse', 'condition', 'severity',
                 'guard', 'for_', 'summary', 'sample', 'fires', 'unit', 'runbook')

    def __init__(self, check, name, summary, sample, value=None, warning=None, critical=None, lower_is_worse=False,
                 condition=None, severity=None, guard=None, for_='5m', fires=None, unit='', runbook=None):
        self.check, self.name, self.summary, self.sample, self.fires = check, name, summary, sample, fires
        self.runbook = runbook
        self.value, self.warning, self.critical, self.lower_is_worse = value, warning, critical, lower_is_worse
        self.condition, self.severity, self.guard, self.for_ = condition, severity, guard, for_
        self.unit = unit

    @property
    def area(self):
        return 'pool' if self.check.startswith('pool.') else 'health'

    @property
    def runbook_anchor(self):
        """The check's runbook section (an alert for a finding outside the registries names its own)."""
        return self.runbook or REGISTRIES[self.area].get(self.check).runbook


def _gauge(metric, labels, extra=(), scale=1):
    """A sample of one gauge (``scale`` times the wanted value; constant companions) for a wanted value."""
    sel = '%s{%s}' % (metric, ','.join('%s="%s"' % kv for kv in sorted(labels.items())))

    def sample(v):
        return [(sel, _const(v * scale))] + [(s, _const(x)) for s, x in extra], labels
    return sample


def _const(v):
    return '%sx90' % _num(v)


def _counter_rate(pairs, labels, minutes=150):
    """Counters growing by a fixed step a minute: ``pairs`` maps a metric to a function of the wanted
    value giving its step."""
    def sample(v):
        series = []
        for metric, step in pairs:
            sel = '%s{%s}' % (metric, ','.join('%s="%s"' % kv for kv in sorted(labels.items())))
            series.append((sel, '0+%sx%d' % (_num(step(v)), minutes)))
        return series, labels
    return sample


DB = {'instance': 'db1:9187', 'job': 'postgresql', 'datname': 'app'}
SRV = {'instance': 'db1:9187', 'job': 'postgresql'}
POOL = {'instance': 'db1:9127', 'job': 'pgbouncer', 'database': 'app', 'user': 'app_user'}
POOL_INSTANCE = {'instance': 'db1:9127', 'job': 'pgbouncer'}

ALERTS = [
    Alert('health.server_up', 'PostgreSQLDown', 'PostgreSQL on {{ $labels.instance }} does not answer the exporter',
          _gauge('pg_up', SRV), condition='pg_up == 0', severity='critical', for_='1m',
          fires=(0, 1)),
    Alert('health.connections', 'PostgreSQLConnections',
          '{{ $labels.instance }} uses {{ $value | printf "%.0f" }}% of its usable connections',
          _gauge('pgops_activity_client_connections', SRV, [('pgops_activity_usable_connections{%s}' % ','.join(
              '%s="%s"' % kv for kv in sorted(SRV.items())), 100)]),
          value='100 * pgops_activity_client_connections / clamp_min(pgops_activity_usable_connections, 1)',
          warning='connections_warning_pct', critical='connections_critical_pct', unit='%'),
    Alert('health.idle_in_transaction', 'PostgreSQLIdleInTransaction',
          'A session on {{ $labels.instance }} has been idle in a transaction for {{ $value | humanizeDuration }}',
          _gauge('pgops_activity_idle_in_transaction_seconds', SRV), value='pgops_activity_idle_in_transaction_seconds',
          warning='idle_in_transaction_warning_seconds', critical='idle_in_transaction_critical_seconds', for_='1m', unit=' s'),
    Alert('health.long_running_queries', 'PostgreSQLLongRunningQuery',
          'A query on {{ $labels.instance }} has been running for {{ $value | humanizeDuration }}',
          _gauge('pgops_activity_longest_query_seconds', SRV), value='pgops_activity_longest_query_seconds',
          warning='long_query_warning_seconds', critical='long_query_critical_seconds', for_='1m', unit=' s'),
    Alert('health.prepared_transactions', 'PostgreSQLPreparedTransaction',
          'A prepared transaction on {{ $labels.instance }} has been open for {{ $value | humanizeDuration }}',
          _gauge('pgops_activity_prepared_xact_seconds', SRV), value='pgops_activity_prepared_xact_seconds',
          warning='prepared_xact_warning_seconds', critical='prepared_xact_critical_seconds', for_='1m', unit=' s'),
    Alert('health.xid_wraparound', 'PostgreSQLTransactionIdWraparound',
          'Database {{ $labels.datname }} on {{ $labels.instance }} used {{ $value | printf "%.0f" }}% of the '
          'transaction id range',
          _gauge('pgops_database_xid_age', DB, scale=XID_RANGE / 100.0), value='100 * pgops_database_xid_age / %d' % XID_RANGE,
          warning='xid_age_warning_pct', critical='xid_age_critical_pct', unit='%'),
    Alert('health.mxid_wraparound', 'PostgreSQLMultixactIdWraparound',
          'Database {{ $labels.datname }} on {{ $labels.instance }} used {{ $value | printf "%.0f" }}% of the '
          'multixact id range',
          _gauge('pgops_database_mxid_age', DB, scale=XID_RANGE / 100.0), value='100 * pgops_database_mxid_age / %d' % XID_RANGE,
          warning='mxid_age_warning_pct', critical='mxid_age_critical_pct', unit='%'),
    Alert('health.replication_lag', 'PostgreSQLReplicationLagBytes',
          'Standby {{ $labels.application_name }} of {{ $labels.instance }} is {{ $value | humanize1024 }}B behind',
          _gauge('pgops_replication_replay_lag_bytes', dict(SRV, application_name='db2')),
          value='pgops_replication_replay_lag_bytes',
          warning='replication_lag_warning_bytes', critical='replication_lag_critical_bytes', unit='B'),
    Alert('health.replication_lag', 'PostgreSQLReplicationLagSeconds',
          'Standby {{ $labels.application_name }} of {{ $labels.instance }} replays {{ $value | humanizeDuration }} late',
          _gauge('pgops_replication_replay_lag_seconds', dict(SRV, application_name='db2')),
          value='pgops_replication_replay_lag_seconds',
          warning='replication_lag_warning_seconds', critical='replication_lag_critical_seconds', unit=' s'),
    Alert('health.replication_lag', 'PostgreSQLStandbyNotStreaming',
          'The standby {{ $labels.instance }} does not receive WAL from its primary',
          _gauge('pgops_standby_receiving', SRV), condition='pgops_standby_receiving == 0', severity='critical',
          for_='2m', fires=(0, 1)),
    Alert('health.replication_slots', 'PostgreSQLReplicationSlotRetainsWal',
          'Slot {{ $labels.slot_name }} on {{ $labels.instance }} keeps {{ $value | humanize1024 }}B of WAL',
          _gauge('pgops_slot_retained_bytes', dict(SRV, slot_name='db2')), value='pgops_slot_retained_bytes',
          warning='slot_retained_warning_bytes', critical='slot_retained_critical_bytes', unit='B'),
    Alert('health.archiver', 'PostgreSQLArchiveBacklog',
          '{{ $value }} WAL segments wait to be archived on {{ $labels.instance }}',
          _gauge('pgops_server_archive_ready', SRV), value='pgops_server_archive_ready',
          warning='archive_ready_warning', critical='archive_ready_critical'),
    Alert('health.archiver', 'PostgreSQLArchivingFailing', 'WAL archiving fails on {{ $labels.instance }}',
          _gauge('pgops_server_archive_failing', SRV), condition='pgops_server_archive_failing == 1',
          severity='critical', for_='5m', fires=(1, 0)),
    Alert('health.cache_hit_ratio', 'PostgreSQLCacheHitRatio',
          'Database {{ $labels.datname }} on {{ $labels.instance }} finds {{ $value | printf "%.1f" }}% of its '
          'blocks in shared buffers (last hour)',
          _counter_rate([('pg_stat_database_blks_hit', lambda v: 30 * v),
                         ('pg_stat_database_blks_read', lambda v: 30 * (100 - v))], DB),
          value='100 * rate(pg_stat_database_blks_hit[1h]) / clamp_min(rate(pg_stat_database_blks_hit[1h]) '
                '+ rate(pg_stat_database_blks_read[1h]), 1e-9)',
          guard='increase(pg_stat_database_blks_hit[1h]) + increase(pg_stat_database_blks_read[1h]) >= %(cache_min_blocks)s',
          warning='cache_hit_warning_pct', lower_is_worse=True, for_='15m', unit='%'),
    Alert('health.rollback_ratio', 'PostgreSQLRollbackRatio',
          '{{ $value | printf "%.1f" }}% of the transactions of {{ $labels.datname }} on {{ $labels.instance }} '
          'rolled back (last hour)',
          _counter_rate([('pg_stat_database_xact_rollback', lambda v: v),
                         ('pg_stat_database_xact_commit', lambda v: 100 - v)], DB),
          value='100 * rate(pg_stat_database_xact_rollback[1h]) / clamp_min(rate(pg_stat_database_xact_rollback[1h]) '
                '+ rate(pg_stat_database_xact_commit[1h]), 1e-9)',
          guard='increase(pg_stat_database_xact_rollback[1h]) + increase(pg_stat_database_xact_commit[1h]) '
                '>= %(rollback_min_transactions)s',
          warning='rollback_warning_pct', for_='15m', unit='%'),
    Alert('health.deadlocks', 'PostgreSQLDeadlocks',
          '{{ $value | printf "%.0f" }} deadlocks in {{ $labels.datname }} on {{ $labels.instance }} in a day',
          _counter_rate([('pg_stat_database_deadlocks', lambda v: v / 1440.0)], DB, minutes=1600),
          value='increase(pg_stat_database_deadlocks[1d])', warning='deadlocks_warning_per_day', for_='0m'),
    Alert('health.checksum_failures', 'PostgreSQLChecksumFailure',
          'Data checksum failures in {{ $labels.datname }} on {{ $labels.instance }}',
          _counter_rate([('pg_stat_database_checksum_failures', lambda v: v)], DB),
          condition='increase(pg_stat_database_checksum_failures[1h]) > 0', severity='critical', for_='0m',
          fires=(1, 0)),
    Alert('health.pending_restart', 'PostgreSQLPendingRestart',
          '{{ $value }} settings of {{ $labels.instance }} wait for a restart',
          _gauge('pgops_server_pending_restart', SRV), condition='pgops_server_pending_restart > 0', severity='warning',
          for_='1h', fires=(2, 0)),
    Alert('health.database_size', 'PostgreSQLDatabaseSize',
          'Database {{ $labels.datname }} on {{ $labels.instance }} is {{ $value | humanize1024 }}B',
          _gauge('pg_database_size_bytes', DB), value='pg_database_size_bytes', warning='database_size_warning_bytes',
          for_='1h', unit='B'),
    Alert('pool.clients_waiting', 'PgBouncerClientsWaiting',
          '{{ $value }} clients wait for a server connection in pool {{ $labels.database }}/{{ $labels.user }} of '
          '{{ $labels.instance }}',
          _gauge('pgbouncer_waiting_clients', POOL), value='pgbouncer_waiting_clients',
          warning='waiting_clients_warning', critical='waiting_clients_critical', for_='2m'),
    Alert('pool.check_failed', 'PgBouncerDown', 'The pgbouncer console of {{ $labels.instance }} does not answer',
          _gauge('pgbouncer_up', dict(POOL_INSTANCE)), condition='pgbouncer_up == 0', severity='critical', for_='1m',
          fires=(0, 1), runbook='connection-pooling.md#when-pgbouncer-is-down'),
    Alert('pool.maxwait', 'PgBouncerClientWait',
          'A client of pool {{ $labels.database }}/{{ $labels.user }} on {{ $labels.instance }} has waited '
          '{{ $value | humanizeDuration }} for a server connection',
          _gauge('pgbouncer_maxwait_seconds', POOL), value='pgbouncer_maxwait_seconds',
          warning='maxwait_warning_s', critical='maxwait_critical_s', for_='1m', unit=' s'),
    Alert('pool.saturation', 'PgBouncerPoolSaturation',
          'Pool {{ $labels.database }}/{{ $labels.user }} of {{ $labels.instance }} uses {{ $value | printf "%.0f" }}% '
          'of its size',
          _gauge('pgbouncer_server_connections', POOL, [('pgbouncer_pool_size{database="app",instance="db1:9127",'
                                                         'job="pgbouncer"}', 100)]),
          value='100 * pgbouncer_server_connections{user!="%(pool_auth_user)s"} / on(job, instance, database) '
                'group_left() clamp_min(pgbouncer_pool_size, 1)',
          warning='pool_usage_warning_pct', for_='5m', unit='%'),
    Alert('pool.client_connections', 'PgBouncerClientConnections',
          '{{ $labels.instance }} holds {{ $value | printf "%.0f" }}% of max_client_conn',
          _gauge('pgbouncer_used_clients', POOL_INSTANCE, [('pgbouncer_max_client_conn{instance="db1:9127",'
                                                            'job="pgbouncer"}', 100)]),
          value='100 * pgbouncer_used_clients / clamp_min(pgbouncer_max_client_conn, 1)',
          warning='client_conn_warning_pct', critical='client_conn_critical_pct', for_='5m', unit='%'),
]


def _num(v):
    """A PromQL number: whole numbers without a decimal point."""
    v = float(v)
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)


def validate(thresholds, pool_thresholds):
    """The thresholds of both registries, checked as the daily check checks them."""
    return {'health': health.REGISTRY.validate_thresholds(thresholds, 'thresholds'),
            'pool': pools.REGISTRY.validate_thresholds(pool_thresholds, 'pool_thresholds')}


def select(skip):
    known = sorted(set(a.check for a in ALERTS) | set(a.name for a in ALERTS))
    unknown = sorted(set(skip or []) - set(known))
    if unknown:
        raise ParameterError('skip_alerts', 'unknown name(s) %s' % ', '.join(unknown),
                             'use check ids or alert names from: %s' % ', '.join(known))
    return [a for a in ALERTS if a.check not in (skip or []) and a.name not in (skip or [])]


def expressions(alert, t, opts):
    """[(severity, expr)] of one alert with the thresholds ``t`` of its area; nothing for an alert
    whose threshold is 0 where 0 means off (database_size_warning_bytes)."""
    subst = dict(t, **opts)
    if alert.condition:
        return [(alert.severity, alert.condition % subst if '%(' in alert.condition else alert.condition)]
    value = alert.value % subst if '%(' in alert.value else alert.value
    guard = ' and (%s)' % (alert.guard % subst) if alert.guard else ''
    warn = t[alert.warning]
    if alert.warning == 'database_size_warning_bytes' and not warn:
        return []
    op, back = ('<=', '>') if alert.lower_is_worse else ('>=', '<')
    if not alert.critical:
        return [('warning', '(%s) %s %s%s' % (value, op, _num(warn), guard))]
    crit = t[alert.critical]
    return [('warning', '(%s) %s %s and (%s) %s %s%s' % (value, op, _num(warn), value, back, _num(crit), guard)),
            ('critical', '(%s) %s %s%s' % (value, op, _num(crit), guard))]


def rules(thresholds, pool_thresholds, skip=None, runbook_base='', extra_labels=None, group='pgops',
          pool_auth_user='pgbouncer_auth'):
    """The rule file as a dictionary (``groups: [{name, rules}]``)."""
    t = validate(thresholds, pool_thresholds)
    out = []
    for alert in select(skip):
        for sev, expr in expressions(alert, t[alert.area], {'pool_auth_user': pool_auth_user}):
            labels = dict(extra_labels or {})
            labels.update(severity=sev, check=alert.check, service='pgbouncer' if alert.area == 'pool' else 'postgresql')
            rule = {'alert': alert.name, 'expr': expr, 'for': alert.for_, 'labels': labels,
                    'annotations': {'summary': alert.summary,
                                    'description': 'The daily check %s finds the same%s.' % (
                                        alert.check, _limits(alert, t[alert.area], sev)),
                                    'runbook_url': '%s%s' % (runbook_base, alert.runbook_anchor)}}
            out.append(rule)
    return {'groups': [{'name': group, 'rules': out}]}


def _limits(alert, t, sev):
    if alert.condition:
        return ''
    name = alert.critical if sev == 'critical' else alert.warning
    return ': %s %s %s%s' % (sev, 'at or below' if alert.lower_is_worse else 'at or above', _num(t[name]), alert.unit)
