# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Health checks per database, from the server statement: wraparound, ratios, checksums, size.

Every evaluator is pure: ``(facts, thresholds) -> [finding]``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import severity as _sev
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'daily-health-check.md#the-checks'


def _hid(check):
    return 'health.' + check


XID_LIMIT = 2 ** 31


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


def _c_database_size(f, t):
    limit = t['database_size_warning_bytes']
    if not limit:
        return []
    return [finding(_hid('database_size'), 'warning', 'A database is larger than the configured size',
                    obj=d['datname'], observed='%d bytes' % d['size_bytes'], expected='under %d bytes' % limit,
                    remediation='Plan capacity: archive or partition old data, or raise the threshold.')
            for d in f['server']['databases'] if d.get('size_bytes') and d['size_bytes'] >= limit]


def _pair(prefix, warning, critical, what):
    crit = Threshold('%s_critical_pct' % prefix, critical, 'pct', 'critical at this %s' % what)
    return Threshold('%s_warning_pct' % prefix, warning, 'pct', 'warning at this %s' % what, at_most=crit.name), crit


CHECKS = [
    Check('health.xid_wraparound', 'database', lambda f, t: _wrap('xid', f, t), name='xid_wraparound',
          facts=('server',), runbook=RUNBOOK, thresholds=_pair('xid_age', 50, 75, 'share of 2^31')),
    Check('health.mxid_wraparound', 'database', lambda f, t: _wrap('mxid', f, t), name='mxid_wraparound',
          facts=('server',), runbook=RUNBOOK, thresholds=_pair('mxid_age', 50, 75, 'share of 2^31')),
    Check('health.cache_hit_ratio', 'database', _c_cache_hit_ratio, name='cache_hit_ratio', facts=('server',),
          runbook=RUNBOOK, thresholds=(
              Threshold('cache_hit_warning_pct', 90, 'pct', 'warning below this hit ratio'),
              Threshold('cache_min_blocks', 100000, 'int', 'block reads before the ratio counts'))),
    Check('health.rollback_ratio', 'database', _c_rollback_ratio, name='rollback_ratio', facts=('server',),
          runbook=RUNBOOK, thresholds=(
              Threshold('rollback_warning_pct', 10, 'pct', 'warning at this rollback share'),
              Threshold('rollback_min_transactions', 1000, 'int', 'transactions before the ratio counts'))),
    Check('health.deadlocks', 'database', _c_deadlocks, name='deadlocks', facts=('server',), runbook=RUNBOOK,
          thresholds=(Threshold('deadlocks_warning_per_day', 10, 'num', 'warning at this daily rate'),)),
    Check('health.checksum_failures', 'database', _c_checksum_failures, name='checksum_failures',
          facts=('server',), runbook=RUNBOOK),
    Check('health.database_size', 'database', _c_database_size, name='database_size', facts=('server',),
          runbook=RUNBOOK,
          thresholds=(Threshold('database_size_warning_bytes', 0, 'int', 'warning at this size (0: off)'),)),
]
