# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The monthly index review: ``collect`` reads each database in two statements, ``evaluate`` is pure.

Every finding carries the statement that would fix it, with identifiers quoted as
``psycopg2.sql.Identifier`` quotes them (``_sql.quoted``). Index bloat comes from ``_bloat``, shared
with the maintenance module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_indexes as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._bloat import index_bloat, size
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import quoted

RUNBOOK = 'monthly-review.md#index-review'
MB = 1024 * 1024
# the names REINDEX CONCURRENTLY gives its copies: <index>_ccnew, <index>_ccnew1, <index>_ccold, ...
LEFTOVER = re.compile(r'_cc(new|old)[0-9]*$')


# --------------------------------------------------------------------------- collect

def collect_database(session, thresholds, max_objects, used=(), bloat=True, measure=True):
    """One database: the review statement, and the bloat statement when the bloat check runs."""
    facts = session.fetch_one(q.DATABASE, {
        'unused_min_bytes': int(thresholds['unused_min_bytes']), 'used': json.dumps(list(used)),
        'seq_min_scans': int(thresholds['seq_min_scans']), 'seq_min_rows': int(thresholds['seq_min_rows']),
        'max_objects': int(max_objects)})
    facts['bloat'] = index_bloat(session, int(thresholds['bloat_min_bytes']), int(thresholds['bloat_exact_max_bytes']),
                                 int(max_objects), measure) if bloat else []
    return facts


def collect_scanned(session, thresholds):
    """The indexes scanned on this node that the primary's review could call unused."""
    return session.fetch_one(q.SCANNED, {'unused_min_bytes': int(thresholds['unused_min_bytes'])})['scanned']


# --------------------------------------------------------------------------- evaluate

def _obj(db, schema, name):
    return '%s.%s.%s' % (db, schema, name)


def _c_unused(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        days = facts['stats_age_s'] / 86400.0
        young = days < t['unused_min_stats_days']
        for i in facts['unused']:
            out.append(finding(
                'index.unused', 'info' if young else 'warning', 'An index has not been used since the statistics reset',
                obj=_obj(db, i['schemaname'], i['indexname']),
                observed='0 scans in %.1f days (statistics reset %.1f days ago%s), %s on %s; %s' % (
                    days, days, ', too recent to judge' if young else '', size(i['bytes']), i['tablename'],
                    i['definition']),
                expected='every index is used, or it costs writes and space for nothing',
                remediation='Check the standbys and rare jobs (month-end reports) first, keep the definition '
                            'to recreate it, then: DROP INDEX CONCURRENTLY %s;'
                            % quoted(i['schemaname'], i['indexname'])))
    return out


def _c_redundant(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for i in facts['redundant']:
            what = 'duplicates' if i['kind'] == 'duplicate' else 'is a leading prefix of'
            out.append(finding(
                'index.redundant', 'warning', 'An index duplicates another one' if i['kind'] == 'duplicate'
                else 'An index is covered by a wider one', obj=_obj(db, i['schemaname'], i['indexname']),
                observed='%s %s %s; %s; %s' % (size(i['bytes']), what, i['covered_by'], i['definition'],
                                               i['covered_by_definition']),
                expected='one index per set of leading columns',
                remediation='DROP INDEX CONCURRENTLY %s;' % quoted(i['schemaname'], i['indexname'])))
    return out


def _c_invalid(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for i in facts['invalid']:
            name = quoted(i['schemaname'], i['indexname'])
            leftover = LEFTOVER.search(i['indexname'])
            out.append(finding(
                'index.invalid', 'warning', 'An index is invalid (a failed CREATE or REINDEX CONCURRENTLY)',
                obj=_obj(db, i['schemaname'], i['indexname']),
                observed='invalid, %s on %s, never used by queries but kept up to date by writes' % (
                    size(i['bytes']), i['tablename']),
                expected='every index valid',
                remediation=('The leftover of an interrupted REINDEX CONCURRENTLY: DROP INDEX CONCURRENTLY %s;'
                             % name) if leftover else 'REINDEX INDEX CONCURRENTLY %s;' % name))
    return out


def _c_bloated(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for i in facts['bloat']:
            if not i['valid'] or i['bloat_pct'] is None or i['bloat_pct'] < t['bloat_warning_pct'] \
                    or i['bytes'] < t['bloat_min_bytes']:
                continue
            out.append(finding(
                'index.bloated', 'warning', 'An index is bloated', obj=_obj(db, i['schemaname'], i['indexname']),
                observed='%.0f%% of %s is free space (%s)' % (i['bloat_pct'], size(i['bytes']), i['bloat_method']),
                expected='under %s%%' % t['bloat_warning_pct'],
                remediation='playbooks/weekly.yml rebuilds it within its budgets; by hand: REINDEX INDEX '
                            'CONCURRENTLY %s;' % quoted(i['schemaname'], i['indexname'])))
    return out


def _c_fk_unindexed(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for k in facts['fk_unindexed']:
            if k['bytes'] < t['fk_min_bytes']:
                continue
            cols = ', '.join(quoted(c) for c in k['columns'])
            out.append(finding(
                'index.fk_unindexed', 'warning', 'A foreign key has no index on its referencing columns',
                obj=_obj(db, k['schemaname'], k['tablename']),
                observed='%s (%s) references %s, no index leads with those columns; table %s' % (
                    k['conname'], ', '.join(k['columns']), k['referenced'], size(k['bytes'])),
                expected='an index on the referencing columns (a DELETE or key UPDATE on %s scans %s otherwise)'
                         % (k['referenced'], k['tablename']),
                remediation='CREATE INDEX CONCURRENTLY ON %s (%s);' % (quoted(k['schemaname'], k['tablename']), cols)))
    return out


def _c_seq_heavy(f, t):
    out = []
    for db, facts in sorted(f['databases'].items()):
        for s in facts['seq_heavy']:
            out.append(finding(
                'index.seq_scan_heavy', 'warning', 'A large table is read mostly by sequential scans',
                obj=_obj(db, s['schemaname'], s['tablename']),
                observed='%d sequential scans read %d rows (%d per scan), %d index scans; %d rows, %s' % (
                    s['seq_scan'], s['seq_tup_read'], s['seq_tup_read'] // max(s['seq_scan'], 1), s['idx_scan'],
                    s['n_live_tup'], size(s['bytes'])),
                expected='frequent queries on large tables use an index',
                remediation='Find its statements in the performance review (pg_stat_statements) or the log, '
                            'EXPLAIN them and index the columns they filter on.'))
    return out


def _th(name, default, kind, doc):
    return Threshold(name, default, kind, doc)


REGISTRY = Registry('indexes', [
    Check('index.unused', 'object', _c_unused, name='unused', facts=('databases',), cadence=('monthly',),
          runbook=RUNBOOK, title='Every index is used', thresholds=(
              _th('unused_min_bytes', MB, 'int', 'unused indexes smaller than this are not reported'),
              _th('unused_min_stats_days', 7, 'num', 'statistics younger than this make an unused index info only'))),
    Check('index.redundant', 'object', _c_redundant, name='redundant', facts=('databases',), cadence=('monthly',),
          runbook=RUNBOOK, title='No index duplicates another or is a prefix of one'),
    Check('index.invalid', 'object', _c_invalid, name='invalid', facts=('databases',), cadence=('monthly',),
          runbook=RUNBOOK, title='Every index is valid'),
    Check('index.bloated', 'object', _c_bloated, name='bloated', facts=('bloat',), cadence=('monthly',),
          runbook=RUNBOOK, title='No index is bloated', thresholds=(
              _th('bloat_warning_pct', 40, 'pct', 'warning at this share of free space in an index'),
              _th('bloat_min_bytes', 10 * MB, 'int', 'indexes smaller than this are not reported'),
              _th('bloat_exact_max_bytes', 1024 * MB, 'int',
                  'indexes up to this size are measured with pgstatindex when pgstattuple is installed'))),
    Check('index.fk_unindexed', 'object', _c_fk_unindexed, name='fk_unindexed', facts=('databases',),
          cadence=('monthly',), runbook=RUNBOOK, title='Every foreign key has a supporting index', thresholds=(
              _th('fk_min_bytes', 0, 'int', 'referencing tables smaller than this are not reported'),)),
    Check('index.seq_scan_heavy', 'object', _c_seq_heavy, name='seq_scan_heavy', facts=('databases',),
          cadence=('monthly',), runbook=RUNBOOK, title='No large table is read mostly by sequential scans',
          thresholds=(
              _th('seq_min_scans', 100, 'int', 'tables scanned sequentially fewer times are not reported'),
              _th('seq_min_rows', 10000, 'int', 'tables with fewer rows are not reported'))),
], shared_thresholds=(Threshold('max_objects_per_check', 50, 'int', 'objects listed per check and database'),))


def plots(facts, n=15):
    """Bars of the indexes with the most free space (bytes times the bloat share), for the HTML report."""
    rows = [(_obj(db, i['schemaname'], i['indexname']), int(i['bytes'] * i['bloat_pct'] / 100.0))
            for db, f in facts['databases'].items() for i in f.get('bloat') or []
            if i['valid'] and i['bloat_pct']]
    rows = sorted((r for r in rows if r[1] > 0), key=lambda r: -r[1])[:n]
    return [{'kind': 'bars', 'title': 'Index bloat: free space by index', 'unit': 'bytes',
             'bars': [list(r) for r in rows]}] if rows else []
