# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""What the data dictionary says, once, as blocks that ``_schema_render`` writes as Markdown and
as HTML (so the two never tell different things).

A block is a tuple: ('h', level, inline), ('p', inline), ('table', headers, rows of inline),
('code', language, text), ('list', [inline]), ('mermaid', text) (Markdown only), ('svg', graph key)
(HTML only). Inline content is a list of parts: a str (plain text), ('code', text) or ('link', text,
page), where a page is ('root',), ('db', db), ('schema', db, schema), ('rel', db, schema, name),
('changelog',) or ('compare',).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pgops.postgresql.plugins.module_utils._schema_model import mermaid
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_snapshot import KIND_NAMES, qualified, short

CONSTRAINT_TYPES = {'p': 'primary key', 'u': 'unique', 'c': 'check', 'x': 'exclusion', 'f': 'foreign key',
                    't': 'constraint trigger'}


def size(value):
    if value is None:
        return ''
    value = float(value)
    for unit in ('B', 'kB', 'MB', 'GB', 'TB'):
        if value < 1024 or unit == 'TB':
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024.0


def _yes(value):
    return 'yes' if value else ''


def rel_link(db, rel, text=None):
    return ('link', text or rel.label, ('rel', db.name, rel.schema, rel.name))


PRIVILEGES = {'r': 'SELECT', 'a': 'INSERT', 'w': 'UPDATE', 'd': 'DELETE', 'D': 'TRUNCATE', 'x': 'REFERENCES',
              't': 'TRIGGER', 'X': 'EXECUTE', 'U': 'USAGE', 'C': 'CREATE', 'c': 'CONNECT', 'T': 'TEMPORARY',
              's': 'SET', 'A': 'ALTER SYSTEM', 'm': 'MAINTAIN'}
_ACLITEM = re.compile(r'^(?P<grantee>"(?:[^"]|"")*"|[^=]*)=(?P<privs>[A-Za-z*]*)/(?P<grantor>.*)$')


def _role(text):
    return text[1:-1].replace('""', '"') if text.startswith('"') and text.endswith('"') and len(text) > 1 else text


def acl_rows(acl):
    """aclitems as (grantee, privileges, granted by): 'fixture_reader=r*/postgres' is
    ('fixture_reader', 'SELECT (with grant option)', 'postgres'); an empty grantee is PUBLIC."""
    rows = []
    for item in acl or []:
        m = _ACLITEM.match(item)
        if not m:
            rows.append((item, '', ''))
            continue
        privs, letters = [], m.group('privs')
        for i, letter in enumerate(letters):
            if letter == '*':
                continue
            grant = i + 1 < len(letters) and letters[i + 1] == '*'
            privs.append(PRIVILEGES.get(letter, letter) + (' (with grant option)' if grant else ''))
        rows.append((_role(m.group('grantee')) or 'PUBLIC', ', '.join(privs), _role(m.group('grantor'))))
    return rows


def acl_summary(acl, default):
    """One cell: 'grantee: privileges' per aclitem; ``default`` when the ACL is the default (NULL)."""
    if not acl:
        return default
    return '; '.join('%s: %s' % (grantee, privs or 'none') for grantee, privs, dummy in acl_rows(acl))


def acl_blocks(acl, level):
    return [('h', level, ['Privileges']), ('table', ['Grantee', 'Privileges', 'Granted by'], [
        [[('code', grantee)], [privs], [('code', grantor)]] for grantee, privs, grantor in acl_rows(acl)])]


def relation_blocks(db, rel, level, stats):
    """Everything about one relation, headed at ``level``."""
    out = [('h', level, [('code', rel.label), ' (%s)' % rel.kind_name])]
    if rel.row.get('comment'):
        out.append(('p', [rel.row['comment']]))
    facts = ['Owner ', ('code', rel.row.get('owner') or '')]
    if rel.parent is not None:
        facts += ['; partition of ', rel_link(db, rel.parent), ' ', ('code', rel.row.get('partition_bound') or '')]
    if rel.row.get('partition_key'):
        facts += ['; partitioned by ', ('code', rel.row['partition_key'])]
    if rel.row.get('row_security'):
        facts += ['; row-level security on%s' % (' (forced for the owner too)' if rel.row.get('force_row_security')
                                                 else '')]
    if rel.kind == 'm':
        facts += ['; populated' if rel.row.get('populated') else '; never populated (WITH NO DATA)']
    if rel.row.get('persistence') == 'u':
        facts += ['; unlogged']
    if stats and rel.kind in ('r', 'm', 'p'):
        facts += ['; about %s rows, %s' % (rel.row.get('rows_estimate') if rel.row.get('rows_estimate') is not None
                                           else '?', size(rel.row.get('bytes')) or '0 B')]
        if rel.row.get('seq_scan') is not None:
            facts += ['; %s sequential and %s index scans since the statistics reset' % (
                rel.row.get('seq_scan'), rel.row.get('idx_scan') if rel.row.get('idx_scan') is not None else 0)]
    out.append(('p', facts + ['.']))
    marks = rel.key_columns()
    rows = []
    for c in rel.columns:
        default = c.get('default') or ''
        extra = []
        if c.get('identity'):
            extra.append('identity (generated %s)' % c['identity'])
        if c.get('generated'):
            extra.append('generated always as %s stored' % c['generated'])
        if c.get('collation'):
            extra.append('collation %s' % c['collation'])
        rows.append([[str(c['position'])], [('code', c['name'])], [('code', c['type'])], ['no' if c['not_null'] else 'yes'],
                     [('code', default)] if default else [], ['; '.join(extra)], [' '.join(marks.get(c['name'], []))],
                     [c.get('comment') or '']])
    if rows:
        out.append(('table', ['#', 'Column', 'Type', 'Nullable', 'Default', 'Identity, generated, collation', 'Key',
                              'Comment'], rows))
    if rel.constraints:
        out.append(('h', level + 1, ['Constraints']))
        out.append(('table', ['Name', 'Type', 'Definition', 'Comment'], [
            [[('code', k['name'])], [CONSTRAINT_TYPES.get(k['type'], k['type']) +
                                     (', not validated' if not k.get('validated', True) else '') +
                                     (', deferrable' if k.get('deferrable') else '')],
             [('code', k['definition'])], [k.get('comment') or '']] for k in rel.constraints]))
    if rel.indexes:
        out.append(('h', level + 1, ['Indexes']))
        headers = ['Name', 'Method', 'Keys', 'Include', 'Predicate', 'Unique', 'Valid'] + (
            ['Size', 'Scans'] if stats else [])
        out.append(('table', headers, [
            [[('code', x['name'])], [x['method']], [('code', ', '.join(x['keys']))],
             [('code', ', '.join(x['include']))] if x['include'] else [],
             [('code', x['predicate'])] if x.get('predicate') else [],
             ['primary' if x['is_primary'] else _yes(x['is_unique'])], ['' if x['valid'] else 'INVALID']]
            + ([[size(x.get('bytes'))], [str(x['scans']) if x.get('scans') is not None else '']] if stats else [])
            for x in rel.indexes]))
    if rel.fks_out or rel.fks_in:
        out.append(('h', level + 1, ['Relationships']))
        items = []
        for k in rel.fks_out:
            target = db.relations.get((k['references_schema'], k['references_table']))
            to = rel_link(db, target) if target is not None else (
                'code', qualified(k['references_schema'], k['references_table']))
            items.append(['references ', to, ' (', ('code', ', '.join(k['columns'])), ' -> ',
                          ('code', ', '.join(k['references_columns'])), ') on update %s, on delete %s; %s' % (
                              k['on_update'], k['on_delete'], 'supported by an index' if k.get('indexed')
                              else 'no index supports it')])
        for source, k in rel.fks_in:
            items.append(['referenced by ', rel_link(db, source), ' (', ('code', ', '.join(k['columns'])),
                          ') on delete %s' % k['on_delete']])
        out.append(('list', items))
    if rel.partitions:
        out.append(('h', level + 1, ['Partitions']))
        out.append(('table', ['Partition', 'Bound'] + (['Rows', 'Size'] if stats else []), [
            [[rel_link(db, p)], [('code', p.row.get('partition_bound') or '')]] + (
                [[str(p.row.get('rows_estimate') or 0)], [size(p.row.get('bytes'))]] if stats else [])
            for p in sorted(rel.partitions, key=lambda r: r.key)]))
    if rel.row.get('definition'):
        out.append(('h', level + 1, ['Definition']))
        out.append(('code', 'sql', rel.row['definition']))
    if rel.reads:
        out.append(('p', ['Reads: '] + _join([rel_link(db, r) for r in sorted(rel.reads, key=lambda r: r.key)])))
    if rel.read_by:
        out.append(('p', ['Read by: '] + _join([rel_link(db, r) for r in sorted(rel.read_by, key=lambda r: r.key)])))
    if rel.triggers:
        out.append(('h', level + 1, ['Triggers']))
        out.append(('table', ['Name', 'Enabled', 'Function', 'Definition'], [
            [[('code', t['name'])], [t['enabled']], [('code', t['function'])], [('code', t['definition'])]]
            for t in rel.triggers]))
    if rel.policies:
        out.append(('h', level + 1, ['Row-level security policies']))
        out.append(('table', ['Name', 'Kind', 'Command', 'Roles', 'Using', 'With check'], [
            [[('code', p['name'])], [p['permissive'].lower()], [p['command']], [('code', ', '.join(p['roles'] or []))],
             [('code', p['using'])] if p.get('using') else [], [('code', p['with_check'])] if p.get('with_check') else []]
            for p in rel.policies]))
    if rel.row.get('acl'):
        out.extend(acl_blocks(rel.row['acl'], level + 1))
    return out


def _join(parts, sep=', '):
    out = []
    for i, part in enumerate(parts):
        if i:
            out.append(sep)
        out.append(part)
    return out


def _relations_table(db, relations, stats):
    return ('table', ['Name', 'Kind', 'Comment'] + (['Rows', 'Size'] if stats else []), [
        [[rel_link(db, r)], [r.kind_name], [r.row.get('comment') or '']] + (
            [[str(r.row.get('rows_estimate') if r.row.get('rows_estimate') is not None else '')],
             [size(r.row.get('bytes'))]] if stats else [])
        for r in relations])


def schema_blocks(db, schema, stats, markdown, max_tables):
    """A schema's page: the Markdown page holds every relation; the HTML page lists and links them."""
    out = [('h', 1, ['Schema ', ('code', schema.name), ' (database ', ('link', db.name, ('db', db.name)), ')'])]
    if schema.row.get('comment'):
        out.append(('p', [schema.row['comment']]))
    out.append(('p', ['Owner ', ('code', schema.row.get('owner') or ''), '.'] + (
        [] if schema.row.get('acl') else [' Default privileges (the owner only).'])))
    if schema.row.get('acl'):
        out.extend(acl_blocks(schema.row['acl'], 2))
    out.append(('h', 2, ['Relationships']))
    graph = mermaid(db, schema, max_tables) if markdown else None
    if markdown and graph:
        out.append(('mermaid', graph))
    elif not markdown and schema.of_kind('r', 'p', 'f') and len(schema.of_kind('r', 'p', 'f')) <= max_tables:
        out.append(('svg', ('schema', db.name, schema.name)))
    else:
        out.append(('p', ['No diagram: %d tables (more than %d; each table shows its neighbourhood).' % (
            len(schema.of_kind('r', 'p', 'f')), max_tables) if schema.of_kind('r', 'p', 'f') else 'No tables.']))
    sections = (('Tables', ('r', 'p', 'f')), ('Views', ('v',)), ('Materialized views', ('m',)))
    for title, kinds in sections:
        relations = schema.of_kind(*kinds)
        if not relations:
            continue
        out.append(('h', 2, [title]))
        if markdown:
            for rel in db.walk(relations):
                out.extend(relation_blocks(db, rel, 3, stats))
        else:
            out.append(_relations_table(db, list(db.walk(relations)), stats))
    if schema.functions:
        out.append(('h', 2, ['Functions and procedures']))
        out.append(('table', ['Name', 'Returns', 'Language', 'Volatility', 'Security', 'search_path', 'Owner',
                              'Privileges', 'Comment'], [
            [[('code', '%s(%s)' % (qualified(f['schema'], f['name']), f['arguments']))],
             [('code', f['result'])] if f.get('result') else ['procedure' if f['kind'] == 'p' else ''],
             [f['language']], [f['volatility']], ['definer' if f['security_definer'] else 'invoker'],
             [('code', f['search_path'])] if f.get('search_path') else [], [('code', f['owner'])],
             [acl_summary(f.get('acl'), 'PUBLIC: EXECUTE (default)')], [f.get('comment') or '']]
            for f in schema.functions]))
    if schema.sequences:
        out.append(('h', 2, ['Sequences']))
        out.append(('table', ['Name', 'Type', 'Start', 'Increment', 'Min', 'Max', 'Cycle', 'Owned by', 'Owner',
                              'Privileges'], [
            [[('code', qualified(s['schema'], s['name']))], [s['type']], [str(s['start'])], [str(s['increment'])],
             [str(s['min'])], [str(s['max'])], [_yes(s['cycle'])], [('code', s['owned_by'])] if s.get('owned_by') else [],
             [('code', s.get('owner') or '')], [acl_summary(s.get('acl'), 'owner only (default)')]]
            for s in schema.sequences]))
    return out


def database_blocks(db, coverage):
    out = [('h', 1, ['Database ', ('code', db.name)]), ('h', 2, ['Schemas'])]
    rows = []
    for name in sorted(db.schemas):
        s = db.schemas[name]
        cov = coverage.get(name, {})
        rows.append([[('link', name, ('schema', db.name, name))], [('code', s.row.get('owner') or '')],
                     [str(len(s.of_kind('r', 'p', 'f')))], [str(len(s.of_kind('v', 'm')))], [str(len(s.functions))],
                     [str(len(s.sequences))], ['%s%%' % cov['pct'] if 'pct' in cov else ''], [s.row.get('comment') or '']])
    out.append(('table', ['Schema', 'Owner', 'Tables', 'Views', 'Functions', 'Sequences', 'Commented', 'Comment'], rows))
    extensions = db.facts.get('extensions') or []
    if extensions:
        out.append(('h', 2, ['Extensions']))
        out.append(('table', ['Name', 'Version', 'Schema', 'Comment'], [
            [[('code', x['name'])], [x['version']], [('code', x['schema'])], [x.get('comment') or '']]
            for x in extensions]))
    return out


def root_blocks(title, source, databases, has_changelog, compare_label):
    out = [('h', 1, [title]), ('p', [source])]
    rows = []
    for db in databases:
        rows.append([[('link', db.name, ('db', db.name))], [str(len(db.schemas))],
                     [str(sum(1 for r in db.relations.values() if r.kind in ('r', 'p', 'f')))],
                     [str(sum(1 for r in db.relations.values() if r.kind in ('v', 'm')))],
                     [str(len(db.facts.get('functions') or []))]])
    out.append(('table', ['Database', 'Schemas', 'Tables', 'Views', 'Functions'], rows))
    links = []
    if has_changelog:
        links.append([('link', 'Changelog', ('changelog',)), ': what changed between the snapshots kept'])
    if compare_label:
        links.append([('link', 'Compared with %s' % compare_label, ('compare',)), ': where the two differ'])
    if links:
        out.append(('list', links))
    return out


def change_parts(c):
    """A change as inline parts: the database, what, and for an alteration each attribute before and after."""
    parts = [('code', c['database']), ': %s ' % KIND_NAMES.get(c['kind'], c['kind']), ('code', c['object']),
             ' %s' % c['change']]
    if c['change'] == 'altered':
        parts.append(':')
        for i, (name, (before, after)) in enumerate(sorted(c['attributes'].items())):
            parts += ['%s %s ' % (';' if i else '', name), ('code', short(before)), ' \u2192 ', ('code', short(after))]
    return parts


def changelog_blocks(entries):
    """``entries``: [{taken_at, changes}] newest first."""
    out = [('h', 1, ['Schema changelog'])]
    if not entries:
        out.append(('p', ['No change since the first snapshot.']))
    for entry in entries:
        out.append(('h', 2, [entry['taken_at']]))
        out.append(('list', [change_parts(c) for c in entry['changes']]))
    return out


def compare_blocks(label, reference, differences):
    out = [('h', 1, ['Compared with ', ('code', label)]),
           ('p', ['Reference snapshot taken at %s. Added: only here; dropped: only in the reference; altered: '
                  'different here (reference -> here).' % reference])]
    out.append(('list', [change_parts(c) for c in differences])
               if differences else ('p', ['No difference.']))
    return out
