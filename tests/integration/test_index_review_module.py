# SPDX-License-Identifier: GPL-3.0-or-later
"""index_review against a real PostgreSQL 15 cluster with planted index problems.

Planted in the database ``idx`` by tests/harness/planted.py (autovacuum off):
  big_note      an index nobody scans, over 1 MB                       -> index.unused
  big_a         a leading prefix of big_a_b                            -> index.redundant (prefix)
  big_b2        the same keys as big_b1, built later                   -> index.redundant (duplicate)
  fixable_k     marked invalid                                         -> index.invalid
  bloated_v     nine tenths of its entries deleted, scanned            -> index.bloated
  child         a foreign key to big without an index                  -> index.fk_unindexed
  scanned       read by 120 sequential scans, no index                 -> index.seq_scan_heavy
  child_ok      a foreign key with its index (small): nothing
The database ``healthy`` holds tables with primary keys and indexed foreign keys: no finding at
warning or above.
"""

import pytest

from tests.harness.pgcluster import ModuleFailed, run_module
from tests.harness.planted import INDEX_USE, plant_index_problems

TH = {'unused_min_bytes': 1024 * 1024, 'unused_min_stats_days': 0, 'seq_min_scans': 100, 'seq_min_rows': 10000}

HEALTHY = """
CREATE TABLE customers (id int PRIMARY KEY, name text UNIQUE);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), placed date);
CREATE INDEX orders_customer_id ON orders (customer_id);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 1000) g;
INSERT INTO orders SELECT g, 1 + g % 1000, current_date FROM generate_series(1, 5000) g;
ANALYZE;
"""


@pytest.fixture(scope='module')
def planted():
    from tests.harness.pgcluster import PgCluster
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    c.psql('CREATE DATABASE idx')
    c.psql('CREATE DATABASE healthy')
    plant_index_problems(c, 'idx')
    c.psql(HEALTHY, db='healthy')
    yield c
    c.destroy()


def review(cluster, **extra):
    args = dict(databases=['idx'], thresholds=TH)
    args.update(extra)
    return run_module('index_review', cluster.login(**args))


def raised(result):
    return sorted((f['id'], f['object']) for f in result['findings'] if f['severity'] in ('warning', 'critical'))


def test_each_planted_problem_raises_its_finding(planted):
    result = review(planted)
    assert raised(result) == sorted([
        ('index.unused', 'idx.public.big_note'),
        ('index.redundant', 'idx.public.big_a'),
        ('index.redundant', 'idx.public.big_b2'),
        ('index.invalid', 'idx.public.fixable_k'),
        ('index.bloated', 'idx.public.bloated_v'),
        ('index.fk_unindexed', 'idx.public.child'),
        ('index.seq_scan_heavy', 'idx.public.scanned'),
    ]), result['findings']
    by = dict(((f['id'], f['object']), f) for f in result['findings'])
    assert by[('index.unused', 'idx.public.big_note')]['remediation'].endswith(
        'then: DROP INDEX CONCURRENTLY "public"."big_note";')
    assert 'CREATE INDEX big_note ON public.big USING btree (note)' in by[('index.unused', 'idx.public.big_note')][
        'observed']
    assert 'is a leading prefix of big_a_b' in by[('index.redundant', 'idx.public.big_a')]['observed']
    assert 'duplicates big_b1' in by[('index.redundant', 'idx.public.big_b2')]['observed']
    assert by[('index.invalid', 'idx.public.fixable_k')]['remediation'] == \
        'REINDEX INDEX CONCURRENTLY "public"."fixable_k";'
    assert '(estimate)' in by[('index.bloated', 'idx.public.bloated_v')]['observed']
    assert by[('index.fk_unindexed', 'idx.public.child')]['remediation'] == \
        'CREATE INDEX CONCURRENTLY ON "public"."child" ("big_id");'
    assert by[('index.seq_scan_heavy', 'idx.public.scanned')]['observed'].startswith('12')
    # the statistics' age is stated
    assert 0 <= result['statistics_age_days']['idx'] < 1
    # bounded: probe, recovery, database list, then three statements per database
    assert result['round_trips'] == 3 + 3, result['queries']


def test_the_fix_statements_run_and_clear_the_findings(planted):
    """Every remediation is a statement PostgreSQL accepts; after them the review is clean."""
    c = planted
    c.psql('CREATE DATABASE idx_fix TEMPLATE idx')
    try:
        c.psql(INDEX_USE, db='idx_fix')
        first = review(c, databases=['idx_fix'], skip_checks=['seq_scan_heavy', 'bloated'])
        statements = [f['remediation'].split(': ')[-1] for f in first['findings'] if f['severity'] == 'warning']
        assert all(st.endswith(';') and '\n' not in st for st in statements), statements
        assert len(statements) == 5, statements
        for statement in statements:
            c.psql(statement, db='idx_fix')
        again = review(c, databases=['idx_fix'], skip_checks=['seq_scan_heavy', 'bloated'])
        assert raised(again) == [], again['findings']
    finally:
        c.psql('DROP DATABASE idx_fix')


def test_indexes_used_on_a_standby_are_never_called_unused(planted):
    result = review(planted, used_elsewhere=[{'database': 'idx', 'schema': 'public', 'index': 'big_note'}])
    assert ('index.unused', 'idx.public.big_note') not in raised(result)
    other_db = review(planted, used_elsewhere=[{'database': 'other', 'schema': 'public', 'index': 'big_note'}])
    assert ('index.unused', 'idx.public.big_note') in raised(other_db)


def test_scanned_only_lists_what_this_server_scanned(planted):
    result = review(planted, scanned_only=True)
    names = [(s['database'], s['schema'], s['index']) for s in result['scanned']]
    assert ('idx', 'public', 'bloated_v') in names and ('idx', 'public', 'big_note') not in names
    assert result['findings'] == [] and result['in_recovery'] is False
    # the shape used_elsewhere takes
    assert ('index.bloated', 'idx.public.bloated_v') in raised(review(planted, used_elsewhere=result['scanned']))


def test_young_statistics_make_unused_info_only(planted):
    result = review(planted, thresholds=dict(TH, unused_min_stats_days=30))
    unused = [f for f in result['findings'] if f['id'] == 'index.unused']
    assert [f['severity'] for f in unused] == ['info'] and 'too recent to judge' in unused[0]['observed']


def test_pgstatindex_measures_when_installed(planted):
    planted.psql('CREATE EXTENSION IF NOT EXISTS pgstattuple', db='idx')
    try:
        result = review(planted, checks=['bloated'])
        bloated = [f for f in result['findings'] if f['id'] == 'index.bloated']
        assert len(bloated) == 1 and '(pgstatindex)' in bloated[0]['observed'], bloated
    finally:
        planted.psql('DROP EXTENSION pgstattuple', db='idx')


def test_healthy_database_raises_nothing(planted):
    result = run_module('index_review', planted.login(databases=['healthy'], cadence='monthly'))
    assert raised(result) == [], result['findings']
    assert sorted(f['id'] for f in result['findings']) == sorted(
        ['index.unused', 'index.redundant', 'index.invalid', 'index.bloated', 'index.fk_unindexed',
         'index.seq_scan_heavy'])


def test_quotes_and_line_breaks_in_names_stay_inside_identifiers(planted):
    c = planted
    c.psql('CREATE DATABASE idx_q')
    try:
        c.psql('CREATE TABLE keep (id int);'
               'CREATE TABLE "we""ird; DROP TABLE keep --" (id int PRIMARY KEY, v text, w text);'
               'INSERT INTO "we""ird; DROP TABLE keep --" SELECT g, md5(g::text), md5(g::text) '
               '  FROM generate_series(1, 30000) g;'
               'CREATE INDEX "i""x" ON "we""ird; DROP TABLE keep --" (v);'
               'CREATE INDEX "n\nDROP TABLE keep; --" ON "we""ird; DROP TABLE keep --" (w); ANALYZE', db='idx_q')
        result = review(c, databases=['idx_q'], checks=['unused'])
        fixes = [f['remediation'].split('then: ')[1] for f in result['findings'] if f['severity'] == 'warning']
        assert 'DROP INDEX CONCURRENTLY "public"."i""x";' in fixes, fixes
        assert len(fixes) == 2
        for fix in fixes:
            c.psql(fix, db='idx_q')
        assert c.psql("SELECT count(*) FROM pg_class WHERE relname IN ('i\"x', E'n\\nDROP TABLE keep; --')",
                      db='idx_q') == '0'
        assert c.psql("SELECT count(*) FROM pg_class WHERE relname = 'keep'", db='idx_q') == '1'
    finally:
        c.psql('DROP DATABASE idx_q')


def test_review_never_writes(planted):
    c = planted
    c.psql("DO $$ BEGIN CREATE ROLE reviewer LOGIN IN ROLE pg_monitor; EXCEPTION WHEN duplicate_object THEN END $$")
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    catalog = "SELECT md5(string_agg(relname::text || relpages::text, ',' ORDER BY oid)) FROM pg_class"
    before, cat_before = c.psql(xmax), c.psql(catalog, db='idx')
    result = run_module('index_review', c.login(login_user='reviewer', databases=['idx'], thresholds=TH))
    assert c.psql(xmax) == before and c.psql(catalog, db='idx') == cat_before
    assert all(q.lstrip().upper().startswith(('SELECT', 'WITH')) for q in result['queries'])
    assert ('index.unused', 'idx.public.big_note') in raised(result)


@pytest.mark.parametrize('args,words', [
    (dict(thresholds={'unused_min_byte': 1}), ['thresholds', "unknown threshold 'unused_min_byte'"]),
    (dict(thresholds={'bloat_warning_pct': 140}), ['thresholds.bloat_warning_pct', 'out of range']),
    (dict(checks=['unused', 'fragmented']), ['checks', 'fragmented']),
    (dict(databases=['nosuch']), ['databases', 'nosuch']),
    (dict(used_elsewhere=[{'database': 'idx', 'schema': 'public'}]), ['index']),
])
def test_bad_input_is_named(planted, args, words):
    with pytest.raises(ModuleFailed) as err:
        run_module('index_review', planted.login(**args))
    msg = err.value.result['msg']
    assert 'Traceback' not in msg
    for word in words:
        assert word in msg, msg
