# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema lint from tables of facts."""

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import schema


def db(**kinds):
    out = dict((k, []) for k in ('schemas', 'relations', 'columns', 'constraints', 'indexes', 'functions',
                                 'triggers', 'sequences', 'extensions', 'policies', 'view_reads'))
    out.update(kinds)
    return out


def raised(facts, **thresholds):
    t = schema.REGISTRY.validate_thresholds(thresholds)
    return sorted((f['id'], f['object']) for f in schema.REGISTRY.evaluate({'databases': {'app': facts}}, t)
                  if f['severity'] != 'ok')


def rel(name, kind='r', **extra):
    return dict(dict(schema='s', name=name, kind=kind, comment=None, partition_of=None), **extra)


def col(relation, name, type_, comment=None):
    return dict(schema='s', relation=relation, name=name, type=type_, comment=comment)


def test_a_table_without_a_primary_key_but_not_a_partition():
    facts = db(relations=[rel('t'), rel('keyed'), rel('p', 'p'), rel('p_1', partition_of='p'), rel('v', 'v')],
               constraints=[dict(schema='s', relation='keyed', type='p'), dict(schema='s', relation='p', type='p')])
    assert raised(facts) == [('schema.no_primary_key', 'app: s.t')]


def test_foreign_keys_without_an_index_and_definers_without_a_search_path():
    facts = db(constraints=[
        dict(schema='s', relation='a', type='f', indexed=False, columns=['b_id'], references_schema='s', references_table='b'),
        dict(schema='s', relation='c', type='f', indexed=True, columns=['b_id'], references_schema='s', references_table='b')],
        functions=[dict(schema='s', name='f', arguments='', owner='o', security_definer=True, search_path=None),
                   dict(schema='s', name='g', arguments='', owner='o', security_definer=True, search_path='pg_catalog'),
                   dict(schema='s', name='h', arguments='', owner='o', security_definer=False, search_path=None)])
    assert raised(facts) == [('schema.fk_without_index', 'app: s.a (b_id) -> s.b'),
                             ('schema.security_definer_search_path', 'app: s.f()')]


def test_types_compared_without_their_modifiers_and_only_across_tables():
    facts = db(relations=[rel('a'), rel('b'), rel('v', 'v')],
               constraints=[dict(schema='s', relation='a', type='p'), dict(schema='s', relation='b', type='p')],
               columns=[col('a', 'id', 'bigint'), col('b', 'id', 'integer'), col('a', 'amount', 'numeric(12,2)'),
                        col('b', 'amount', 'numeric'), col('v', 'name', 'text'), col('a', 'name', 'varchar(10)')])
    assert raised(facts) == [('schema.column_type_mismatch', 'app: id')]


def test_matviews_never_populated_and_comment_coverage_only_when_asked():
    facts = db(relations=[rel('m', 'm', populated=False), rel('n', 'm', populated=True), rel('t', comment='x')],
               constraints=[dict(schema='s', relation='t', type='p')],
               columns=[col('t', 'a', 'int', 'the a'), col('t', 'b', 'int')])
    assert raised(facts) == [('schema.matview_never_populated', 'app: s.m')]
    assert schema.coverage(facts)['s'] == {'objects': 5, 'commented': 2, 'pct': 40.0}
    assert ('schema.comment_coverage', 'app: s') in raised(facts, comment_coverage_warning_pct=50)
