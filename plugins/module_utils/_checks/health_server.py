# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Health checks of the server as a whole: sessions, replication, archiving, settings, disk.

Every evaluator is pure: ``(facts, thresholds) -> [finding]``. Facts come from
``_sql_health.SERVER`` (one statement) and from the host's file systems."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import severity as _sev
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'daily-health-check.md#the-checks'


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
        'It holds locks and blocks vacuum. Fix the client, or end it (module session_control, '
        'states=[idle in transaction]); set idle_in_transaction_session_timeout.')


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
                               remediation='Reconnect its consumer, or drop it if it is no longer used '
                                           '(module replication_slot, state=absent).'))
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


def _c_pending_restart(f, t):
    names = f['server']['pending_restart']
    if not names:
        return []
    return [finding(_hid('pending_restart'), 'warning', 'Settings are waiting for a restart',
                    observed=', '.join(names), expected='none',
                    remediation='Plan a restart in a maintenance window (cluster_service state=restarted).')]


def _c_minor_version(f, t):
    b = f.get('binaries')
    running = f['server']['version_num']
    running = (running // 10000, running % 10000)
    if not b or not b.get('installed'):
        return [finding(_hid('minor_version'), 'info', 'The installed minor release was not assessed',
                        obj='server binaries', observed='the running postmaster is not visible where the module ran',
                        expected='module runs on the database host as root',
                        remediation='Run the health check on the database host with become to compare releases.')]
    out = []
    level = int(t['minor_releases_behind_warning'])
    installed, candidate = tuple(b['installed']), tuple(b['candidate']) if b.get('candidate') else None
    if installed[0] == running[0] and installed[1] > running[1]:
        out.append(finding(_hid('minor_version'), 'warning', 'A newer minor release is installed but not running',
                           obj=b.get('binary') or 'postgres', observed='running %d.%d, installed %d.%d%s' % (
                               running + installed + ((' (the running binary was replaced)',) if b.get('replaced')
                                                      else ('',))),
                           expected='the installed release running',
                           remediation='Restart to run it: playbooks/upgrade_minor.yml restarts the standbys first and '
                                       'switches over, so only the switchover costs a moment of writes.'))
    newest = max([r for r in (installed, candidate) if r and r[0] == running[0]] + [running])
    behind = newest[1] - running[1]
    if candidate and candidate[0] == running[0] and candidate[1] > installed[1] and level and behind >= level:
        out.append(finding(_hid('minor_version'), 'warning', 'The running minor release is behind the packaged one',
                           obj='postgresql-%d' % running[0], observed='running %d.%d, packaged %d.%d: %d release%s '
                           'behind' % (running + candidate + (behind, '' if behind == 1 else 's')),
                           expected='fewer than %d releases behind' % level,
                           remediation='Minor releases carry security and data-corruption fixes: schedule '
                                       'playbooks/upgrade_minor.yml (package upgrade, rolling restarts).'))
    return out


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


def _pair(prefix, unit, warning, critical, what):
    """A (warning, critical) pair of thresholds where a larger value is worse."""
    crit = Threshold('%s_critical_%s' % (prefix, unit) if unit else '%s_critical' % prefix, critical,
                     'pct' if unit == 'pct' else ('int' if unit in ('bytes', '') else 'num'),
                     'critical at this %s' % what)
    warn = Threshold('%s_warning_%s' % (prefix, unit) if unit else '%s_warning' % prefix, warning, crit.kind,
                     'warning at this %s' % what, at_most=crit.name)
    return warn, crit


_LAG_BYTES = _pair('replication_lag', 'bytes', 64 * 1024 ** 2, 1024 ** 3, 'replay lag')
_LAG_SECONDS = _pair('replication_lag', 'seconds', 60, 600, 'replay lag')
DISK_CRITICAL = Threshold('disk_free_critical_pct', 10, 'pct', 'critical below this free space')

CHECKS = [
    Check('health.server_up', 'server', None, 'The server accepts connections', name='server_up', runbook=RUNBOOK),
    Check('health.uptime', 'server', _c_uptime, name='uptime', facts=('server',), runbook=RUNBOOK,
          thresholds=(Threshold('uptime_info_seconds', 3600, 'int', 'info when the server is up for less'),)),
    Check('health.connections', 'server', _c_connections, name='connections', facts=('server',), runbook=RUNBOOK,
          thresholds=_pair('connections', 'pct', 80, 95, 'share of the usable connections')),
    Check('health.idle_in_transaction', 'server', _c_idle_in_transaction, name='idle_in_transaction',
          facts=('server',), runbook=RUNBOOK,
          thresholds=_pair('idle_in_transaction', 'seconds', 300, 1800, 'age of an idle open transaction')),
    Check('health.long_running_queries', 'server', _c_long_running_queries, name='long_running_queries',
          facts=('server',), runbook=RUNBOOK, thresholds=_pair('long_query', 'seconds', 300, 3600, 'query age')),
    Check('health.prepared_transactions', 'server', _c_prepared_transactions, name='prepared_transactions',
          facts=('server',), runbook=RUNBOOK,
          thresholds=_pair('prepared_xact', 'seconds', 300, 3600, 'age of a prepared transaction')),
    Check('health.replication_lag', 'server', _c_replication_lag, name='replication_lag', facts=('server',),
          runbook=RUNBOOK, thresholds=_LAG_BYTES + _LAG_SECONDS),
    Check('health.replication_slots', 'server', _c_replication_slots, name='replication_slots', facts=('server',),
          runbook=RUNBOOK, thresholds=_pair('slot_retained', 'bytes', 1024 ** 3, 10 * 1024 ** 3, 'retained WAL')),
    Check('health.archiver', 'server', _c_archiver, name='archiver', facts=('server',), runbook=RUNBOOK,
          thresholds=_pair('archive_ready', '', 10, 100, 'number of .ready segments')),
    Check('health.pending_restart', 'server', _c_pending_restart, name='pending_restart', facts=('server',),
          runbook=RUNBOOK),
    Check('health.minor_version', 'host', _c_minor_version, name='minor_version', facts=('server', 'binaries'),
          runbook=RUNBOOK, thresholds=(
              Threshold('minor_releases_behind_warning', 1, 'int', 'warning when the packaged minor release is '
                        'this many releases ahead of the running one (0: off)'),)),
    Check('health.disk_space', 'host', _c_disk_space, name='disk_space', facts=('disk',), runbook=RUNBOOK,
          thresholds=(Threshold('disk_free_warning_pct', 20, 'pct', 'warning below this free space',
                                at_least=DISK_CRITICAL.name), DISK_CRITICAL)),
]
