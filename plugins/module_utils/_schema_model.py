# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""schema_doc's facts of one database as a model to render: schemas holding their relations
(partitions nested under their parent), each relation with its columns, constraints, indexes,
triggers, policies, the foreign keys that leave it and reach it, and what views read; file names for
every page; relationship diagrams as Graphviz sources (the schema, and each relation's
neighbourhood) and as a Mermaid ER block.

Every name is data: file names are slugs with a hash when the name is not a plain identifier,
Graphviz labels are HTML-escaped inside HTML-like labels (and nothing user-given goes in a quoted
Graphviz string), Mermaid entities are numbered and their labels reduced to safe characters.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
from html import escape

from ansible_collections.pgops.postgresql.plugins.module_utils._schema_snapshot import RELATION_KINDS, qualified

_SLUG_OK = re.compile(r'^[a-z0-9_][a-z0-9_]{0,60}$')
RESERVED = ('index', 'readme', 'changelog', 'compare', 'assets', 'search')
TABLE_KINDS = ('r', 'p', 'f')


def slug(name):
    """A file name part for an identifier: the name itself when it is plain lower case, else its
    safe characters and a hash of the whole name (no two names share one, on any file system)."""
    name = str(name)
    if _SLUG_OK.match(name) and name not in RESERVED:
        return name
    base = re.sub(r'[^a-z0-9_]+', '-', name.lower()).strip('-')[:40] or 'x'
    return '%s-%s' % (base, hashlib.sha1(name.encode('utf-8')).hexdigest()[:8])


class Relation(object):
    def __init__(self, row):
        self.row = row
        self.schema = row['schema']
        self.name = row['name']
        self.kind = row['kind']
        self.key = (self.schema, self.name)
        self.label = qualified(self.schema, self.name)
        self.columns, self.constraints, self.indexes, self.triggers, self.policies = [], [], [], [], []
        self.partitions, self.fks_in, self.reads, self.read_by = [], [], [], []
        self.parent = None

    @property
    def kind_name(self):
        return RELATION_KINDS.get(self.kind, self.kind)

    @property
    def fks_out(self):
        return [k for k in self.constraints if k['type'] == 'f']

    def key_columns(self):
        """Column name -> 'PK' / 'FK' / 'UK' marks."""
        marks = {}
        for k in self.constraints:
            tag = {'p': 'PK', 'f': 'FK', 'u': 'UK'}.get(k['type'])
            for col in k.get('columns') or []:
                if tag and tag not in marks.setdefault(col, []):
                    marks[col].append(tag)
        return marks


class Schema(object):
    def __init__(self, row):
        self.row = row
        self.name = row['name']
        self.relations = []      # top level: partitions are under their parent
        self.functions, self.sequences = [], []

    def of_kind(self, *kinds):
        return [r for r in self.relations if r.kind in kinds]


class Database(object):
    def __init__(self, name, facts):
        self.name = name
        self.facts = facts
        self.schemas = dict((s['name'], Schema(s)) for s in facts.get('schemas', []))
        self.relations = {}
        for row in facts.get('relations', []):
            self.relations[(row['schema'], row['name'])] = Relation(row)
        for kind in ('columns', 'constraints', 'indexes', 'triggers', 'policies'):
            for row in facts.get(kind, []):
                rel = self.relations.get((row['schema'], row['relation']))
                if rel is not None:
                    getattr(rel, kind).append(row)
        for rel in self.relations.values():
            for k in rel.fks_out:
                target = self.relations.get((k['references_schema'], k['references_table']))
                if target is not None:
                    target.fks_in.append((rel, k))
            parent = self.relations.get((rel.row.get('partition_of_schema'), rel.row.get('partition_of')))
            if parent is not None:
                rel.parent = parent
                parent.partitions.append(rel)
        for row in facts.get('view_reads', []):
            view = self.relations.get((row['schema'], row['relation']))
            read = self.relations.get((row['reads_schema'], row['reads']))
            if view is not None and read is not None:
                view.reads.append(read)
                read.read_by.append(view)
        for rel in sorted(self.relations.values(), key=lambda r: r.key):
            if rel.parent is None and rel.schema in self.schemas:
                self.schemas[rel.schema].relations.append(rel)
        for row in facts.get('functions', []):
            if row['schema'] in self.schemas:
                self.schemas[row['schema']].functions.append(row)
        for row in facts.get('sequences', []):
            if row['schema'] in self.schemas:
                self.schemas[row['schema']].sequences.append(row)

    def page(self, rel):
        """A relation's page, relative to the site root."""
        return '%s/%s/%s.html' % (slug(self.name), slug(rel.schema), slug(rel.name))

    def walk(self, relations):
        """The relations and their partitions, depth first."""
        for rel in relations:
            yield rel
            yield from self.walk(sorted(rel.partitions, key=lambda r: r.key))


# ---- Graphviz -------------------------------------------------------------------------------------

def _h(text):
    return escape(str(text if text is not None else ''), quote=True)


def _node(node_id, rel, url, columns=True, max_columns=40, focus=False):
    colour = '#fde68a' if focus else {'v': '#e0e7ff', 'm': '#ede9fe', 'f': '#fce7f3'}.get(rel.kind, '#dbeafe')
    rows = ['<TR><TD BGCOLOR="%s"><B>%s</B>%s</TD></TR>' % (
        colour, _h(rel.label), '' if rel.kind == 'r' else ' <I>(%s)</I>' % _h(rel.kind_name))]
    if columns:
        marks = rel.key_columns()
        for col in rel.columns[:max_columns]:
            rows.append('<TR><TD ALIGN="LEFT">%s <FONT COLOR="#555555">%s</FONT>%s</TD></TR>' % (
                _h(col['name']), _h(col['type']), ' <B>%s</B>' % _h(' '.join(marks[col['name']]))
                if col['name'] in marks else ''))
        if len(rel.columns) > max_columns:
            rows.append('<TR><TD ALIGN="LEFT"><I>%d more columns</I></TD></TR>' % (len(rel.columns) - max_columns))
    # the URL is a slug path: only [a-z0-9_./-] ever reaches this quoted string
    return '  %s [label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">%s</TABLE>>, URL="%s"];' % (
        node_id, ''.join(rows), url)


def _graph(nodes, edges):
    head = ['digraph schema {', '  graph [rankdir=LR, fontname="Helvetica", fontsize=10, nodesep=0.3, ranksep=0.6];',
            '  node [shape=plaintext, fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9, color="#64748b", arrowsize=0.7];']
    return '\n'.join(head + nodes + edges + ['}']) + '\n'


def _url(db, here, rel):
    """A relation's page relative to a page in the directory of schema ``here``."""
    name = '%s.html' % slug(rel.name)
    return name if rel.schema == here else '../%s/%s' % (slug(rel.schema), name)


def schema_dot(db, schema, max_tables):
    """The tables of a schema and the foreign keys between them (tables of other schemas they
    reach appear by name), or None when the schema has none or more than ``max_tables``."""
    tables = schema.of_kind('r', 'p', 'f')
    if not tables or len(tables) > max_tables:
        return None
    ids = {}
    nodes, edges = [], []
    for rel in tables:
        ids[rel.key] = 'n%d' % len(ids)
        nodes.append(_node(ids[rel.key], rel, _url(db, schema.name, rel)))
    for rel in tables:
        for k in rel.fks_out:
            target = db.relations.get((k['references_schema'], k['references_table']))
            if target is None:
                continue
            if target.key not in ids:
                ids[target.key] = 'n%d' % len(ids)
                nodes.append(_node(ids[target.key], target, _url(db, schema.name, target), columns=False))
            edges.append('  %s -> %s [label=<%s>];' % (ids[rel.key], ids[target.key], _h(', '.join(k['columns']))))
    return _graph(nodes, edges)


def neighbourhood_dot(db, rel, max_neighbours=40):
    """A relation with every relation one step away: the tables its foreign keys reach and those
    whose keys reach it, its partition parent and partitions, what a view reads and the views
    that read it."""
    ids = {rel.key: 'n0'}
    nodes = [_node('n0', rel, _url(db, rel.schema, rel), focus=True)]
    edges = []

    def add(other):
        if other.key not in ids:
            if len(ids) > max_neighbours:
                return None
            ids[other.key] = 'n%d' % len(ids)
            nodes.append(_node(ids[other.key], other, _url(db, rel.schema, other), columns=False))
        return ids[other.key]

    for k in rel.fks_out:
        target = db.relations.get((k['references_schema'], k['references_table']))
        if target is not None and add(target):
            edges.append('  n0 -> %s [label=<%s>];' % (ids[target.key], _h(', '.join(k['columns']))))
    for source, k in rel.fks_in:
        if add(source):
            edges.append('  %s -> n0 [label=<%s>];' % (ids[source.key], _h(', '.join(k['columns']))))
    if rel.parent is not None and add(rel.parent):
        edges.append('  n0 -> %s [style=dotted, label=<partition of>];' % ids[rel.parent.key])
    for part in rel.partitions:
        if add(part):
            edges.append('  %s -> n0 [style=dotted];' % ids[part.key])
    for read in rel.reads:
        if add(read):
            edges.append('  n0 -> %s [style=dashed, label=<reads>];' % ids[read.key])
    for view in rel.read_by:
        if add(view):
            edges.append('  %s -> n0 [style=dashed, label=<reads>];' % ids[view.key])
    return _graph(nodes, edges)


# ---- Mermaid --------------------------------------------------------------------------------------

def _mermaid_word(text):
    word = re.sub(r'[^A-Za-z0-9_]+', '_', str(text)).strip('_') or 'x'
    return word if not word[0].isdigit() else 'x' + word


def _mermaid_label(text):
    return re.sub(r'[^A-Za-z0-9_ .,$-]', '_', str(text))


def mermaid(db, schema, max_tables):
    """An erDiagram of a schema's tables and their foreign keys, or None (none, or too many)."""
    tables = schema.of_kind('r', 'p', 'f')
    if not tables or len(tables) > max_tables:
        return None
    ids = {}
    lines = ['erDiagram']

    def entity(rel, columns):
        ids[rel.key] = 'e%d' % len(ids)
        lines.append('  %s["%s"] {' % (ids[rel.key], _mermaid_label(rel.label)) if columns else
                     '  %s["%s"]' % (ids[rel.key], _mermaid_label(rel.label)))
        if columns:
            marks = rel.key_columns()
            for col in rel.columns:
                keys = ','.join(m for m in marks.get(col['name'], []))
                lines.append('    %s %s%s' % (_mermaid_word(col['type']), _mermaid_word(col['name']),
                                              ' ' + keys if keys else ''))
            lines.append('  }')

    for rel in tables:
        entity(rel, True)
    for rel in tables:
        nullable = set(c['name'] for c in rel.columns if not c['not_null'])
        for k in rel.fks_out:
            target = db.relations.get((k['references_schema'], k['references_table']))
            if target is None:
                continue
            if target.key not in ids:
                entity(target, False)
            optional = any(c in nullable for c in k['columns'])
            label = _mermaid_label(', '.join(k['columns']))
            lines.append('  %s %s--o{ %s : "%s"' % (ids[target.key], '|o' if optional else '||', ids[rel.key], label))
    return '\n'.join(lines)
