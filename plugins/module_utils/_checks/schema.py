# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The schema lint of schema_doc: what the schema facts (``_sql_schema``) say about a design.

``evaluate`` (pure, through the registry) reads ``facts['databases'][db]`` as schema_doc collects
it: tables without a primary key, foreign keys without a supporting index, SECURITY DEFINER
functions without a search_path, materialized views never populated, columns named alike with
different types across tables, and comment coverage per schema under a level (off by default; the
coverage is always a figure of ``coverage``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_snapshot import KIND_NAMES, describe

RUNBOOK = 'schema-documentation.md#the-checks'
TABLES = ('r', 'p')


def _tables(db):
    """Tables and partitioned tables, not the partitions (they follow their parent)."""
    return [r for r in db['relations'] if r['kind'] in TABLES and not r.get('partition_of')]


def _c_no_primary_key(f, t):
    out = []
    for name, db in f['databases'].items():
        keyed = set((k['schema'], k['relation']) for k in db['constraints'] if k['type'] == 'p')
        for r in _tables(db):
            if (r['schema'], r['name']) not in keyed:
                out.append(finding('schema.no_primary_key', 'warning', 'A table has no primary key',
                                   obj='%s: %s.%s' % (name, r['schema'], r['name']), observed='no primary key',
                                   expected='a primary key (or a unique key on NOT NULL columns)',
                                   remediation='Add one: logical replication, pg_repack and most tools need it, '
                                               'and duplicates creep in without it.'))
    return out


def _c_fk_without_index(f, t):
    out = []
    for name, db in f['databases'].items():
        for k in db['constraints']:
            if k['type'] == 'f' and k.get('indexed') is False:
                cols = ', '.join(k['columns'])
                out.append(finding('schema.fk_without_index', 'warning', 'A foreign key has no supporting index',
                                   obj='%s: %s.%s (%s) -> %s.%s' % (name, k['schema'], k['relation'], cols,
                                                                    k['references_schema'], k['references_table']),
                                   observed='no index starts with (%s)' % cols, expected='an index on the referencing columns',
                                   remediation='CREATE INDEX CONCURRENTLY on %s.%s (%s): every delete or key update of '
                                               'the referenced row scans the table otherwise.' % (
                                                   k['schema'], k['relation'], cols)))
    return out


def _c_definer_search_path(f, t):
    out = []
    for name, db in f['databases'].items():
        for fn in db['functions']:
            if fn['security_definer'] and not fn.get('search_path'):
                out.append(finding('schema.security_definer_search_path', 'warning',
                                   'A SECURITY DEFINER function has no search_path',
                                   obj='%s: %s.%s(%s)' % (name, fn['schema'], fn['name'], fn['arguments']),
                                   observed='runs with the caller\'s search_path as %s' % fn['owner'],
                                   expected='SET search_path on the function',
                                   remediation='ALTER FUNCTION ... SET search_path = pg_catalog, <its schema>: a caller '
                                               'can otherwise shadow the objects it uses and run code as its owner.'))
    return out


def _c_matview_never_populated(f, t):
    out = []
    for name, db in f['databases'].items():
        for r in db['relations']:
            if r['kind'] == 'm' and r.get('populated') is False:
                out.append(finding('schema.matview_never_populated', 'warning', 'A materialized view was never populated',
                                   obj='%s: %s.%s' % (name, r['schema'], r['name']), observed='WITH NO DATA',
                                   expected='populated', remediation='REFRESH MATERIALIZED VIEW it, or drop it: a '
                                                                     'query on it fails until then.'))
    return out


_TYPMOD = re.compile(r'\(.*\)')


def _c_column_type_mismatch(f, t):
    out = []
    for name, db in f['databases'].items():
        tables = set((r['schema'], r['name']) for r in _tables(db))
        types = {}
        for c in db['columns']:
            if (c['schema'], c['relation']) in tables:
                base = _TYPMOD.sub('', c['type']).strip()
                types.setdefault(c['name'], {}).setdefault(base, []).append('%s.%s' % (c['schema'], c['relation']))
        for column, by_type in sorted(types.items()):
            if len(by_type) > 1:
                out.append(finding('schema.column_type_mismatch', 'warning',
                                   'Columns with the same name have different types',
                                   obj='%s: %s' % (name, column),
                                   observed='; '.join('%s in %s' % (ty, ', '.join(sorted(where)))
                                                      for ty, where in sorted(by_type.items())),
                                   expected='one type for one meaning',
                                   remediation='Align the types (a join or a foreign key across them casts and can not '
                                               'use an index), or rename the column that means something else.'))
    return out


def coverage(db):
    """Per schema: tables and columns with a comment, over tables and columns."""
    out = {}
    tables = _tables(db) + [r for r in db['relations'] if r['kind'] in ('v', 'm')]
    known = set((r['schema'], r['name']) for r in tables)
    for r in tables:
        entry = out.setdefault(r['schema'], {'objects': 0, 'commented': 0})
        entry['objects'] += 1
        entry['commented'] += 1 if r.get('comment') else 0
    for c in db['columns']:
        if (c['schema'], c['relation']) in known:
            entry = out[c['schema']]
            entry['objects'] += 1
            entry['commented'] += 1 if c.get('comment') else 0
    for entry in out.values():
        entry['pct'] = round(100.0 * entry['commented'] / entry['objects'], 1) if entry['objects'] else 100.0
    return out


def _c_comment_coverage(f, t):
    level = t['comment_coverage_warning_pct']
    if not level:
        return []
    out = []
    for name, db in f['databases'].items():
        for schema, c in sorted(coverage(db).items()):
            if c['pct'] < level:
                out.append(finding('schema.comment_coverage', 'info', 'Few objects of a schema are commented',
                                   obj='%s: %s' % (name, schema),
                                   observed='%s%% (%d of %d tables, views and columns)' % (
                                       c['pct'], c['commented'], c['objects']),
                                   expected='at least %s%%' % level,
                                   remediation='COMMENT ON TABLE / COLUMN: the data dictionary shows them.'))
    return out


CHECKS = [
    Check('schema.no_primary_key', 'object', _c_no_primary_key, name='no_primary_key', runbook=RUNBOOK,
          cadence=('monthly',)),
    Check('schema.fk_without_index', 'object', _c_fk_without_index, name='fk_without_index', runbook=RUNBOOK,
          cadence=('monthly',)),
    Check('schema.security_definer_search_path', 'object', _c_definer_search_path, name='security_definer_search_path',
          runbook=RUNBOOK, cadence=('monthly',)),
    Check('schema.matview_never_populated', 'object', _c_matview_never_populated, name='matview_never_populated',
          runbook=RUNBOOK, cadence=('monthly',)),
    Check('schema.column_type_mismatch', 'database', _c_column_type_mismatch, name='column_type_mismatch',
          runbook=RUNBOOK, cadence=('monthly',)),
    Check('schema.comment_coverage', 'database', _c_comment_coverage, name='comment_coverage', runbook=RUNBOOK,
          cadence=('monthly',), thresholds=(
              Threshold('comment_coverage_warning_pct', 0, 'pct', 'info below this share of commented tables, views and '
                        'columns in a schema (0: off; the share is always reported)'),)),
]

REGISTRY = Registry('schema', CHECKS)


# ---- the history of schema_site: what changed since the last snapshot, and against a reference ----

CHANGES_RUNBOOK = 'schema-documentation.md#history-and-comparison'


def _capped(changes, limit, make, more):
    out = [make(c) for c in changes[:limit]]
    if len(changes) > limit:
        out.append(more(len(changes) - limit))
    return out


def _change_finding(fid, severity, title, remediation):
    def make(c):
        return finding(fid, severity, title, obj='%s: %s %s' % (c['database'], KIND_NAMES.get(c['kind'], c['kind']),
                                                                c['object']),
                       observed=describe(c), expected='only the changes the migrations made', remediation=remediation)
    return make


def _more(fid, severity, title, where):
    def more(n):
        return finding(fid, severity, title, obj='%d more' % n, observed='%d more changes' % n,
                       expected='', remediation='Read them all in %s.' % where)
    return more


def _c_changed(f, t):
    changes = [c for c in f['changes'] if not c['privileges']]
    title = 'The schema changed since the last snapshot'
    make = _change_finding('schema.changed', 'info', title, 'Nothing, if a migration made it; otherwise find who did '
                                                            '(the DDL in the audit log) and bring it under the '
                                                            'migration process.')
    return _capped(changes, int(t['change_findings_max']), make,
                   _more('schema.changed', 'info', title, 'the changelog page'))


def _c_privileges_changed(f, t):
    changes = [c for c in f['changes'] if c['privileges']]
    title = 'Privileges or ownership changed since the last snapshot'
    make = _change_finding('schema.privileges_changed', 'warning', title,
                           'Confirm the grant was requested; revoke it otherwise (the role audit shows who holds what).')
    return _capped(changes, int(t['change_findings_max']), make,
                   _more('schema.privileges_changed', 'warning', title, 'the changelog page'))


def _c_differs(f, t):
    title = 'The schema differs from the reference'
    make = _change_finding('schema.differs_from_reference', 'info', title,
                           'Apply the missing migrations to the side that lacks them, or record why the two differ.')
    return _capped(f['differences'], int(t['change_findings_max']), make,
                   _more('schema.differs_from_reference', 'info', title, 'the comparison page'))


CHANGE_CHECKS = [
    Check('schema.changed', 'object', _c_changed, name='changed', runbook=CHANGES_RUNBOOK, cadence=('monthly',),
          thresholds=(Threshold('change_findings_max', 50, 'int', 'findings per check at most; the pages list '
                                                                  'every change'),)),
    Check('schema.privileges_changed', 'object', _c_privileges_changed, name='privileges_changed',
          runbook=CHANGES_RUNBOOK, cadence=('monthly',)),
    Check('schema.differs_from_reference', 'object', _c_differs, name='differs_from_reference',
          runbook=CHANGES_RUNBOOK, cadence=('monthly',)),
]

CHANGE_REGISTRY = Registry('schema_history', CHANGE_CHECKS)
