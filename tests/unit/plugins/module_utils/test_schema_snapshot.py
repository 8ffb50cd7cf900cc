# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema snapshot and diff, and the escaping of the dictionary's renderings, from tables."""

import re

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._schema_model import mermaid, slug, Database
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_render import md_code, md_text, search_index
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_snapshot import diff, ident, snapshot

KINDS = ('schemas', 'relations', 'columns', 'constraints', 'indexes', 'functions', 'triggers', 'sequences',
         'extensions', 'policies', 'view_reads')


def facts(**rows):
    out = dict((k, []) for k in KINDS)
    out.update(rows)
    return {'db': out}


def table(name, **extra):
    row = dict(schema='s', name=name, kind='r', owner='o', comment=None, acl=None, rows_estimate=1, bytes=8192,
               seq_scan=3, idx_scan=4)
    row.update(extra)
    return row


def column(rel, name, **extra):
    row = dict(schema='s', relation=rel, name=name, position=1, type='int', not_null=False, default=None)
    row.update(extra)
    return row


def test_the_workload_is_not_a_change():
    a = facts(relations=[table('t')], columns=[column('t', 'c')])
    b = facts(relations=[table('t', rows_estimate=10 ** 6, bytes=10 ** 9, seq_scan=99)],
              columns=[column('t', 'c', position=1)])
    assert diff(snapshot(a), snapshot(b)) == []


CASES = [
    # (before, after, expected (kind, object, change, attributes))
    (facts(relations=[table('t')]), facts(relations=[table('t'), table('u')]),
     [('relations', 's.u', 'added', [])]),
    (facts(relations=[table('t'), table('u')], columns=[column('u', 'c')],
           indexes=[dict(schema='s', relation='u', name='u_c', keys=['c'], bytes=1, scans=2)]),
     facts(relations=[table('t')]),
     [('relations', 's.u', 'dropped', [])]),                     # its column and index go with it
    (facts(relations=[table('t')], columns=[column('t', 'c')]),
     facts(relations=[table('t')], columns=[column('t', 'c', type='bigint', not_null=True)]),
     [('columns', 's.t.c', 'altered', ['not_null', 'type'])]),
    (facts(relations=[table('t')]), facts(relations=[table('t', acl=['r=r/o'])]),
     [('relations', 's.t', 'altered', ['acl'])]),
    (facts(relations=[table('Odd.Name')]), facts(relations=[table('Odd.Name', comment='x')]),
     [('relations', 's."Odd.Name"', 'altered', ['comment'])]),
]


@pytest.mark.parametrize('before,after,expected', CASES)
def test_diff(before, after, expected):
    changes = diff(snapshot(before), snapshot(after))
    assert [(c['kind'], c['object'], c['change'], sorted(c['attributes'])) for c in changes] == expected
    privileges = [c['privileges'] for c in changes]
    assert privileges == [e[3] == ['acl'] for e in expected]


def test_a_partitions_part_of_an_index_follows_its_parent():
    child = dict(schema='s', relation='p1', name='p1_c_idx', keys=['c'], parent_index='p_c')
    assert diff(snapshot(facts()), snapshot(facts(indexes=[child]))) == []


@pytest.mark.parametrize('name,shown', [('orders', 'orders'), ('Orders', '"Orders"'), ('a"b', '"a""b"'),
                                        ('a.b', '"a.b"'), ('', '""')])
def test_ident(name, shown):
    assert ident(name) == shown


@pytest.mark.parametrize('name', ['orders', 'Orders', 'x/../../etc', 'a b', '', 'index', 'README', '\u00e9t\u00e9'])
def test_slug_is_a_safe_file_name_and_tells_names_apart(name):
    s = slug(name)
    assert re.match(r'^[a-z0-9_-]+$', s), s
    assert s != slug(name + 'x') and (name.lower() == name or s != slug(name.lower()))


@pytest.mark.parametrize('text', ['a|b', 'x\ny', '<script>', '[l](javascript:x)', '*b*', '`c`', '- item', '# h', '\\'])
def test_markdown_text_is_literal(text):
    out = md_text(text)
    assert '\n' not in out and '<' not in out and not re.search(r'(?<!\\)[|*`\[\]]', out), out
    assert not out.startswith(('-', '#'))


@pytest.mark.parametrize('text,expected', [('plain', '`plain`'), ('a`b', '`` a`b ``'), ('a|b', '`a\\|b`'),
                                           ('x\ny', '`x y`'), ('', '')])
def test_markdown_code_span_in_a_table(text, expected):
    assert md_code(text, in_table=True) == expected


def test_search_index_can_not_close_its_script():
    assert '<' not in search_index([['</script><script>alert(1)</script>', 'table', 'x.html', '\u2028']])


def test_mermaid_takes_numbered_entities_and_safe_labels():
    rows = facts(schemas=[dict(name='s')], relations=[table('a"b{c}'), table('t')],
                 columns=[column('a"b{c}', 'x y%%', type='character varying(9)'), column('t', 'r')],
                 constraints=[dict(schema='s', relation='t', name='fk', type='f', columns=['r'],
                                   references_schema='s', references_table='a"b{c}', references_columns=['x y%%'])])
    db = Database('db', rows['db'])
    text = mermaid(db, db.schemas['s'], 10)
    assert text.splitlines()[1] == '  e0["s._a__b_c__"] {' and '    character_varying_9 x_y' in text
    assert '  e0 |o--o{ e1 : "r"' in text and '%%' not in text


@pytest.mark.parametrize('item,row', [
    ('fixture_reader=r/postgres', ('fixture_reader', 'SELECT', 'postgres')),
    ('=X/postgres', ('PUBLIC', 'EXECUTE', 'postgres')),
    ('app=r*w/owner', ('app', 'SELECT (with grant option), UPDATE', 'owner')),
    ('"we""ird=x"=arwdDxt/postgres', ('we"ird=x', 'INSERT, SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER',
                                      'postgres')),
    ('not an aclitem', ('not an aclitem', '', '')),
])
def test_acl_rows_are_readable(item, row):
    from ansible_collections.pgops.postgresql.plugins.module_utils._schema_pages import acl_rows
    assert acl_rows([item]) == [row]


@pytest.mark.parametrize('text,expected', [('1. first', '1\\. first'), ('2) second', '2\\) second'),
                                           ('- item', '\\- item'), ('plain text, (with) 50% = x', 'plain text, (with) 50% = x')])
def test_markdown_text_starts_no_list(text, expected):
    assert md_text(text) == expected


def test_a_version_is_not_a_list():
    assert md_text('1.6') == '1.6'
