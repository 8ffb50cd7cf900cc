# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Schema facts as a normalised snapshot, and the differences between two snapshots.

A snapshot keeps what a schema change changes and leaves out what the workload changes (sizes,
row estimates, scan counts, vacuum times, whether a materialized view is populated): two readings
of an unchanged schema give the same snapshot, whatever happened to the data in between.

``snapshot(databases)`` -> ``{db: {kind: {key: attributes}}}``; a key names the object the way
``psql`` would show it (identifiers quoted when they need it), so two objects never share one.
``diff(old, new)`` -> changes, each ``{database, kind, object, change, attributes, privileges}``:
``change`` is added, dropped or altered, ``attributes`` the altered ones as ``{name: [old, new]}``,
``privileges`` true when an ACL or an owner changed. The columns, constraints, indexes, triggers and
policies of a relation added or dropped are part of that change, not changes of their own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import json
import re

FORMAT = 1

_PLAIN = re.compile(r'^[a-z_][a-z0-9_$]*$')

# what the workload changes, not a schema change
VOLATILE = {
    'relations': ('rows_estimate', 'bytes', 'seq_scan', 'idx_scan', 'n_live_tup', 'n_dead_tup', 'last_analyze',
                  'last_autoanalyze', 'last_vacuum', 'last_autovacuum', 'populated'),
    'indexes': ('bytes', 'scans'),
    'columns': ('position',),
}

RELATION_KINDS = {'r': 'table', 'p': 'partitioned table', 'v': 'view', 'm': 'materialized view', 'f': 'foreign table'}
# kinds whose objects belong to one relation (folded into an added or dropped relation)
CHILD_KINDS = ('columns', 'constraints', 'indexes', 'triggers', 'policies')
PRIVILEGE_ATTRIBUTES = ('acl', 'owner', 'roles')
KIND_ORDER = ('schemas', 'extensions', 'relations', 'columns', 'constraints', 'indexes', 'functions', 'triggers',
              'sequences', 'policies')


def ident(name):
    """An identifier as SQL writes it: plain lower-case names bare, any other in double quotes."""
    name = '' if name is None else str(name)
    return name if _PLAIN.match(name) else '"%s"' % name.replace('"', '""')


def qualified(*names):
    return '.'.join(ident(n) for n in names)


def _keys(kind, row):
    """(key, the relation it belongs to or None)."""
    if kind in ('schemas', 'extensions'):
        return ident(row['name']), None
    if kind in ('relations', 'sequences'):
        return qualified(row['schema'], row['name']), None
    if kind == 'indexes':
        return qualified(row['schema'], row['name']), qualified(row['schema'], row['relation'])
    if kind == 'functions':
        return '%s(%s)' % (qualified(row['schema'], row['name']), row['arguments']), None
    owner = qualified(row['schema'], row['relation'])
    return '%s.%s' % (owner, ident(row['name'])), owner


def snapshot(databases):
    """The normalised snapshot of schema_doc's ``databases`` facts."""
    out = {}
    for db, facts in databases.items():
        shot = {}
        reads = {}
        for r in facts.get('view_reads', []):
            reads.setdefault(qualified(r['schema'], r['relation']), []).append(qualified(r['reads_schema'], r['reads']))
        for kind in KIND_ORDER:
            objects = shot.setdefault(kind, {})
            for row in facts.get(kind, []):
                if kind == 'indexes' and row.get('parent_index'):
                    continue        # a partition's part of a partitioned index follows that index
                key, owner = _keys(kind, row)
                attrs = dict((k, v) for k, v in row.items()
                             if k not in VOLATILE.get(kind, ()) and k not in ('schema', 'name', 'relation'))
                if kind == 'relations':
                    attrs['kind'] = RELATION_KINDS.get(attrs.get('kind'), attrs.get('kind'))
                    if key in reads:
                        attrs['reads'] = sorted(reads[key])
                if owner is not None:
                    attrs['relation'] = owner
                objects[key] = attrs
        out[db] = shot
    return out


def _relation_of(kind, attrs):
    return attrs.get('relation') if kind in CHILD_KINDS else None


def diff(old, new):
    """The changes from snapshot ``old`` to snapshot ``new``, ordered by database, kind and object."""
    changes = []
    for db in sorted(set(old) | set(new)):
        if db not in new or db not in old:
            changes.append(dict(database=db, kind='database', object=ident(db), change='dropped' if db not in new
                                else 'added', attributes={}, privileges=False))
            continue
        a, b = old[db], new[db]
        whole = set()
        rel_a, rel_b = a.get('relations', {}), b.get('relations', {})
        whole.update(set(rel_a) ^ set(rel_b))
        for kind in KIND_ORDER:
            before, after = a.get(kind, {}), b.get(kind, {})
            for key in sorted(set(before) | set(after)):
                if key not in after or key not in before:
                    attrs = before.get(key) or after.get(key)
                    if _relation_of(kind, attrs) in whole:
                        continue
                    changes.append(dict(database=db, kind=kind, object=key, change='dropped' if key not in after
                                        else 'added', attributes={}, privileges=False))
                    continue
                altered = dict((name, [before[key].get(name), after[key].get(name)])
                               for name in sorted(set(before[key]) | set(after[key]))
                               if before[key].get(name) != after[key].get(name))
                if altered:
                    changes.append(dict(database=db, kind=kind, object=key, change='altered', attributes=altered,
                                        privileges=any(name in PRIVILEGE_ATTRIBUTES for name in altered)))
    return changes


def describe(change):
    """One line for a change, as the changelog and the findings say it."""
    what = '%s %s' % (KIND_NAMES.get(change['kind'], change['kind']), change['object'])
    if change['change'] != 'altered':
        return '%s %s' % (what, change['change'])
    parts = []
    for name, (before, after) in sorted(change['attributes'].items()):
        parts.append('%s %s -> %s' % (name, short(before), short(after)))
    return '%s altered: %s' % (what, '; '.join(parts))


KIND_NAMES = {'schemas': 'schema', 'extensions': 'extension', 'relations': 'relation', 'columns': 'column',
              'constraints': 'constraint', 'indexes': 'index', 'functions': 'function', 'triggers': 'trigger',
              'sequences': 'sequence', 'policies': 'policy', 'database': 'database'}


def short(value, limit=120):
    text = 'none' if value is None else (', '.join(str(v) for v in value) if isinstance(value, list) else str(value))
    text = re.sub(r'\s+', ' ', text)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def dumps(data):
    """Canonical JSON: the same data gives the same bytes (sorted keys, no spaces at line ends)."""
    return json.dumps(data, sort_keys=True, indent=1, separators=(',', ': '), default=str) + '\n'


def read_json(path):
    """A JSON file (gzip-compressed when its name ends in .gz), or None when absent or unreadable."""
    try:
        with (gzip.open(path, 'rt') if path.endswith('.gz') else open(path)) as fh:
            return json.load(fh)
    except (IOError, OSError, ValueError, EOFError):
        return None
