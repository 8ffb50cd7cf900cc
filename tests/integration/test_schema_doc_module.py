# SPDX-License-Identifier: GPL-3.0-or-later
"""schema_doc against a real cluster holding the schema fixture (tests/harness/schema_fixture.py):
every object kind is read with its attributes, in eleven statements per database, by a login that
may only connect and read, and nothing is written."""

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module
from tests.harness.schema_fixture import SQL


@pytest.fixture(scope='module')
def shop():
    c = PgCluster().start()
    c.psql('CREATE DATABASE shop')
    c.psql(SQL, db='shop')
    c.psql("CREATE ROLE doc_reader LOGIN; ALTER ROLE doc_reader SET default_transaction_read_only = on")
    yield c
    c.destroy()


def by(rows, *keys):
    return dict((tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]], r) for r in rows)


def test_every_object_kind_with_its_attributes(shop):
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    before = shop.psql(xmax)
    result = run_module('schema_doc', shop.login(login_user='doc_reader', databases=['shop']))
    assert shop.psql(xmax) == before
    assert all(q.lstrip().upper().startswith(('SELECT', 'WITH')) for q in result['queries'])
    assert result['round_trips'] == 1 + 11 and not result['changed']
    db = result['databases']['shop']
    assert [s['name'] for s in db['schemas']] == ['hr', 'public', 'sales']
    assert by(db['schemas'], 'name')['sales']['comment'] == 'Orders, customers and products'

    rel = by(db['relations'], 'schema', 'name')
    assert rel[('sales', 'orders')]['kind'] == 'p' and rel[('sales', 'orders')]['partition_key'] == 'RANGE (ordered_on)'
    part = rel[('sales', 'orders_2026')]
    assert (part['partition_of_schema'], part['partition_of']) == ('sales', 'orders')
    assert part['partition_bound'] == "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"
    assert rel[('sales', 'customer_orders')]['kind'] == 'v' and 'LEFT JOIN' in rel[('sales', 'customer_orders')]['definition']
    assert rel[('sales', 'monthly_totals')]['populated'] is True
    assert rel[('sales', 'monthly_totals_draft')]['populated'] is False
    assert rel[('hr', 'account_manager')]['row_security'] is True
    assert rel[('sales', 'customer')]['comment'] == 'People and companies that order'
    assert 'fixture_reader=r/postgres' in rel[('sales', 'customer')]['acl']
    assert rel[('sales', 'customer')]['rows_estimate'] == 2

    col = by(db['columns'], 'schema', 'relation', 'name')
    assert col[('sales', 'customer', 'customer_id')]['identity'] == 'always'
    assert col[('sales', 'orders', 'order_id')]['identity'] == 'by default'
    assert col[('sales', 'customer', 'name')]['collation'] == 'C'
    assert col[('sales', 'customer', 'email')]['comment'] == 'Where invoices go'
    assert col[('sales', 'customer', 'created_at')]['default'] == 'now()'
    assert col[('sales', 'product', 'price_with_tax')]['generated'] == '(price * 1.2)'
    assert col[('sales', 'product', 'price')]['type'] == 'numeric(10,2)'
    assert col[('sales', 'order_line', 'quantity')]['not_null'] is True

    con = by(db['constraints'], 'schema', 'relation', 'name')
    fk = con[('sales', 'orders', 'orders_customer_id_fkey')]
    assert (fk['type'], fk['references_table'], fk['on_delete'], fk['indexed']) == ('f', 'customer', 'cascade', True)
    cross = con[('hr', 'account_manager', 'manager_customer')]
    assert (cross['references_schema'], cross['on_delete'], cross['indexed']) == ('sales', 'set null', True)
    unindexed = con[('sales', 'order_line', 'order_line_product_id_fkey')]
    assert (unindexed['indexed'], unindexed['on_update'], unindexed['columns']) == (False, 'cascade', ['product_id'])
    assert con[('hr', 'account_manager', 'account_manager_during_excl')]['type'] == 'x'
    assert con[('sales', 'product', 'product_price_check')]['definition'] == 'CHECK (price >= 0::numeric)'
    assert con[('sales', 'customer', 'customer_email_key')]['type'] == 'u'
    assert ('sales', 'orders_2026', 'orders_pkey') not in con  # the partitions' copies stay with the parent

    idx = by(db['indexes'], 'schema', 'name')
    sku = idx[('sales', 'product_sku_lower')]
    assert (sku['keys'], sku['include'], sku['is_unique']) == (['lower(sku)'], ['price'], True)
    assert idx[('sales', 'orders_open')]['predicate'] == 'total IS NULL'
    assert idx[('sales', 'customer_name_trgm')]['method'] == 'gin'

    fn = by(db['functions'], 'schema', 'name')
    assert fn[('hr', 'safe_raise')]['security_definer'] and fn[('hr', 'safe_raise')]['search_path'] == 'pg_catalog, hr'
    assert fn[('hr', 'unsafe_raise')]['security_definer'] and fn[('hr', 'unsafe_raise')]['search_path'] is None
    assert fn[('sales', 'close_month')]['kind'] == 'p'
    assert (fn[('sales', 'order_total')]['volatility'], fn[('sales', 'order_total')]['arguments']) == ('stable', 'p_order bigint')
    assert not any(f['name'] == 'similarity' for f in db['functions'])  # pg_trgm's own functions are the extension's

    assert [(t['relation'], t['name'], t['function']) for t in db['triggers']] == [('orders_2026', 'orders_touch', 'sales.touch')]
    seq = by(db['sequences'], 'schema', 'name')
    assert seq[('sales', 'customer_customer_id_seq')]['owned_by'] == 'sales.customer.customer_id'
    assert (seq[('sales', 'invoice_no')]['owned_by'], seq[('sales', 'invoice_no')]['increment']) == (None, 10)
    assert {e['name'] for e in db['extensions']} == {'pg_trgm', 'plpgsql'}
    pol = by(db['policies'], 'name')
    assert pol['managers_write']['permissive'] == 'RESTRICTIVE' and pol['region_only']['roles'] == ['fixture_reader']
    reads = {(v['relation'], v['reads']) for v in db['view_reads']}
    assert {('customer_orders', 'customer'), ('customer_orders', 'orders'), ('monthly_totals', 'orders'),
            ('monthly_totals_draft', 'monthly_totals')} <= reads


def test_schemas_filter_and_a_missing_database_is_named(shop):
    result = run_module('schema_doc', shop.login(databases=['shop'], schemas=['hr']))
    db = result['databases']['shop']
    assert {r['schema'] for r in db['relations']} == {'hr'} and [s['name'] for s in db['schemas']] == ['hr']
    with pytest.raises(ModuleFailed) as err:
        run_module('schema_doc', shop.login(databases=['nope']))
    assert "parameter 'databases'" in err.value.result['msg'] and 'shop' in err.value.result['msg']
    with pytest.raises(ModuleFailed) as err:
        run_module('schema_doc', shop.login(databases=['shop'], schemas=['hr', 'nope']))
    assert "parameter 'schemas': no database read has the schema(s) nope" in err.value.result['msg']


def test_the_lint_finds_exactly_the_planted_problems(shop):
    result = run_module('schema_doc', shop.login(databases=['shop'], thresholds={'comment_coverage_warning_pct': 0}))
    raised = sorted((f['id'], f['object']) for f in result['findings'] if f['severity'] != 'ok')
    assert raised == [
        ('schema.column_type_mismatch', 'shop: customer_id'),
        ('schema.fk_without_index', 'shop: sales.order_line (product_id) -> sales.product'),
        ('schema.matview_never_populated', 'shop: sales.monthly_totals_draft'),
        ('schema.no_primary_key', 'shop: sales.audit_trail'),
        ('schema.security_definer_search_path', 'shop: hr.unsafe_raise(p_id integer)'),
    ], result['findings']
    mismatch = [f for f in result['findings'] if f['id'] == 'schema.column_type_mismatch'][0]
    assert mismatch['observed'] == 'bigint in sales.customer, sales.orders; integer in hr.account_manager'
    cov = result['coverage']['shop']['sales']
    assert cov['commented'] == 2 and 0 < cov['pct'] < 10  # the table customer and its column email
    waived = run_module('schema_doc', shop.login(databases=['shop'], waivers=[
        {'id': 'schema.no_primary_key', 'object': 'shop: sales.audit_trail', 'reason': 'append-only log',
         'expires': '2099-01-01'}]))
    assert [f['waived'] for f in waived['findings'] if f['id'] == 'schema.no_primary_key'] == [True]
