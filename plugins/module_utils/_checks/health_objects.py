# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Health checks of objects inside each database: tables, sequences, indexes.

Facts come from ``_sql_health.DATABASE``, one statement per database whatever the number of
objects. Every evaluator is pure: ``(facts, thresholds) -> [finding]``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import severity as _sev
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'daily-health-check.md#the-checks'


def _hid(check):
    return 'health.' + check


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


SEQ_CRITICAL = Threshold('sequence_critical_pct', 90, 'pct', 'critical at this share of the range used')
DEAD_CRITICAL = Threshold('dead_tuples_critical_pct', 50, 'pct', 'critical at this share of dead rows')
# Shared by every per-object check: the size of a table that counts, and the cap on listed objects.
TABLE_MIN_ROWS = Threshold('table_min_rows', 1000, 'int', 'tables with fewer rows are not checked')
MAX_OBJECTS = Threshold('max_objects_per_check', 50, 'int', 'objects listed per check and database')

CHECKS = [
    Check('health.table_analyze', 'object', _c_table_analyze, name='table_analyze', facts=('databases',),
          runbook=RUNBOOK, thresholds=(
              TABLE_MIN_ROWS,
              Threshold('analyze_stale_days', 7, 'num', 'statistics older than this are stale ...'),
              Threshold('analyze_stale_modified_pct', 10, 'pct', '... when this share of rows changed since'))),
    Check('health.table_vacuum', 'object', _c_table_vacuum, name='table_vacuum', facts=('databases',),
          runbook=RUNBOOK, thresholds=(
              TABLE_MIN_ROWS, DEAD_CRITICAL,
              Threshold('dead_tuples_warning_pct', 20, 'pct', 'warning at this share of dead rows',
                        at_most=DEAD_CRITICAL.name))),
    Check('health.sequences', 'object', _c_sequences, name='sequences', facts=('databases',), runbook=RUNBOOK,
          thresholds=(Threshold('sequence_warning_pct', 75, 'pct', 'warning at this share of the range used',
                                at_most=SEQ_CRITICAL.name), SEQ_CRITICAL)),
    Check('health.invalid_indexes', 'object', _c_invalid_indexes, name='invalid_indexes', facts=('databases',),
          runbook=RUNBOOK),
]
