# SPDX-License-Identifier: GPL-3.0-or-later
"""schema_site over the facts schema_doc reads from a real cluster holding the schema fixture
(tests/harness/schema_fixture.py): every object kind of the fixture is in the dictionary with its
attributes, in Markdown and in HTML; a change made to the fixture between two runs is in the
changelog and nothing else is; another host's snapshot is compared; hostile names stay data; a
failure at each writing step puts every file back; check mode plans what the run does."""

import hashlib
import json
import os
import re

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module
from tests.harness.schema_fixture import SQL


@pytest.fixture(scope='module')
def shop():
    c = PgCluster().start()
    c.psql('CREATE DATABASE shop')
    c.psql(SQL, db='shop')
    yield c
    c.destroy()


def read(c, tmp, db='shop', name='facts.json.gz'):
    dest = os.path.join(str(tmp), name)
    result = run_module('schema_doc', c.login(databases=[db], dest=dest))
    assert 'databases' not in result and result['dest']['path'] == dest
    return dest


def site(facts, tmp, check_mode=False, env=None, **extra):
    args = dict(facts=facts, source='db1', markdown_dir=os.path.join(str(tmp), 'md'),
                html_dir=os.path.join(str(tmp), 'html'), history_dir=os.path.join(str(tmp), 'history'))
    args.update(extra)
    return run_module('schema_site', args, check_mode=check_mode, diff=True, env=env)


def tree(root):
    """Every file under root with its hash."""
    out = {}
    for base, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(base, name)
            with open(path, 'rb') as fh:
                out[os.path.relpath(path, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def test_every_object_kind_is_in_the_dictionary_with_its_attributes(shop, tmp_path):
    facts = read(shop, tmp_path)
    result = site(facts, tmp_path)
    assert result['changed'] and result['changes'] == [] and result['summary']['worst'] == 'ok'
    md = (tmp_path / 'md' / 'shop' / 'sales.md').read_text()
    hr = (tmp_path / 'md' / 'shop' / 'hr.md').read_text()
    dbpage = (tmp_path / 'md' / 'shop' / 'README.md').read_text()
    expected_sales = [
        'Orders, customers and products',                                   # schema comment
        '| `fixture_reader` | USAGE | `postgres` |',                         # schema ACL, readable
        '### `sales.customer` (table)', 'People and companies that order',  # table and comment
        '| `customer_id` | `bigint` | no |  | identity (generated always) | PK |',
        '| `name` | `text` | no |  | collation C |',
        '| `email` | `text` | yes |  |  | UK | Where invoices go |',
        '`now()`',                                                          # default
        'generated always as (price \\* 1.2) stored',                       # generated column
        '| `product_price_check` | check | `CHECK (price >= 0::numeric)` |',
        '| `customer_name_trgm` | gin | `name` |',                          # method
        '| `product_sku_lower` | btree | `lower(sku)` | `price` |  | yes |',  # expression, INCLUDE, unique
        '| `orders_open` | btree | `ordered_on` |  | `total IS NULL` |',      # predicate
        '### `sales.orders` (partitioned table)', 'partitioned by `RANGE (ordered_on)`',
        "| [sales.orders\\_2026](sales.md) | `FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')` |",
        '### `sales.orders_2026` (table)', 'partition of [sales.orders](sales.md)',
        'on update cascade, on delete no action; no index supports it',     # FK actions, unsupported
        'on update no action, on delete cascade; supported by an index',
        '| `orders_touch` | origin | `sales.touch` |',                        # trigger
        '### `sales.customer_orders` (view)', 'LEFT JOIN sales.orders o USING (customer_id)',
        'Reads: [sales.customer](sales.md), [sales.orders](sales.md)',
        '### `sales.monthly_totals` (materialized view)', '; populated',
        '### `sales.monthly_totals_draft` (materialized view)', 'never populated (WITH NO DATA)',
        '| `monthly_totals_month` | btree | `month` |',                      # a matview's index
        '| `sales.order_total(p_order bigint)` | `numeric` | sql | stable | invoker |  | `postgres` | PUBLIC: EXECUTE (default) |',
        '| `sales.close_month(IN p_month date)` | procedure | sql | volatile |',
        '| `sales.invoice_no` | bigint | 1000 | 10 |',                       # free sequence
        '| `sales.product_product_id_seq` | integer | 1 | 1 | 1 | 2147483647 |  | `sales.product.product_id` | `postgres` |',
        '| `fixture_reader` | SELECT | `postgres` |',                        # table ACL, readable
        '```mermaid', 'erDiagram', 'e3 ||--o{ e2 : "order_id, ordered_on"',
        'about 2 rows',                                                     # statistics
    ]
    for text in expected_sales:
        assert text in md, text
    for text in ['### `hr.account_manager` (table)', 'row-level security on',
                 '| `account_manager_during_excl` | exclusion | `EXCLUDE USING gist (during WITH &&)` |',
                 'references [sales.customer](sales.md) (`customer_id` -&gt; `customer_id`) on update no action, '
                 'on delete set null',
                 '| `region_only` | permissive | SELECT | `fixture_reader` | `(region = CURRENT_USER)` |',
                 '| `managers_write` | restrictive | UPDATE | `public` | `true` | `(region IS NOT NULL)` |',
                 '| `hr.safe_raise(p_id integer)` | `void` | sql | volatile | definer | `pg_catalog, hr` |',
                 '| `hr.unsafe_raise(p_id integer)` | `void` | sql | volatile | definer |  | `postgres` | postgres: EXECUTE |']:
        assert text in hr, text
    assert '| `pg_trgm` | 1.6 | `public` |' in dbpage and '| [sales](sales.md) | `postgres` | 5 | 3 | 3 | 4 |' in dbpage

    html = tmp_path / 'html'
    page = (html / 'shop' / 'sales' / 'orders.html').read_text()
    assert '<svg' in page and page.count('class="node"') == 7  # itself, 2 partitions, a parent, a child, 2 views
    assert '<a href="customer.html">sales.customer</a>' in page and 'RANGE (ordered_on)' in page
    assert (html / 'shop' / 'sales' / 'index.html').read_text().count('class="node"') == 5  # the five tables
    assert (html / 'shop' / 'hr' / 'account_manager.html').exists()
    assert '<a href="../sales/customer.html">sales.customer</a>' in (html / 'shop' / 'hr' / 'account_manager.html'
                                                                     ).read_text()
    index = (html / 'assets' / 'search-index.js').read_text()
    assert '"sales.customer.email","column text","shop/sales/customer.html","Where invoices go"' in index
    for root, dummy, files in os.walk(str(html)):
        for name in files:
            text = open(os.path.join(root, name), encoding='utf-8').read()
            assert not re.search(r'(src|href)="(https?:)?//', text), name   # nothing from outside
    assert result['files']['html']['added'] == len(tree(str(html)))


def test_check_mode_plans_the_run_and_a_second_run_changes_nothing(shop, tmp_path):
    facts = read(shop, tmp_path)
    planned = site(facts, tmp_path, check_mode=True)
    assert planned['changed'] and not (tmp_path / 'md').exists() and not (tmp_path / 'history').exists()
    done = site(facts, tmp_path)
    assert done['changed'] and done['files'] == planned['files']
    assert sorted(planned['diff']['prepared'].splitlines()) == sorted(done['diff']['prepared'].splitlines())
    assert site(facts, tmp_path, check_mode=True)['changed'] is False
    again = site(facts, tmp_path)
    assert again['changed'] is False and again['snapshot'] is None
    # a second reading of the unchanged schema, after the data moved: the snapshot is the same
    shop.psql("INSERT INTO sales.customer (name) SELECT 'n' || g FROM generate_series(1, 500) g; ANALYZE", db='shop')
    later = read(shop, tmp_path, name='facts2.json.gz')
    result = site(later, tmp_path, statistics=False)
    assert result['changes'] == [] and result['files']['history'] == dict(added=0, updated=0, removed=0, bytes=0)
    assert site(later, tmp_path, statistics=False)['changed'] is False
    shop.psql("DELETE FROM sales.customer WHERE name ~ '^n[0-9]+$'; ANALYZE", db='shop')


CHANGE = """
ALTER TABLE sales.product ADD COLUMN discontinued boolean NOT NULL DEFAULT false;
ALTER TABLE sales.customer ALTER COLUMN email TYPE varchar(320);
CREATE INDEX order_line_product ON sales.order_line (product_id);
CREATE TABLE sales.coupon (code text PRIMARY KEY, percent int CHECK (percent BETWEEN 1 AND 90));
DROP MATERIALIZED VIEW sales.monthly_totals_draft;
GRANT SELECT ON sales.product TO fixture_reader;
COMMENT ON TABLE sales.orders IS 'One row per order';
"""


def test_a_change_between_two_runs_is_in_the_changelog_and_nothing_else(shop, tmp_path):
    shop.psql('CREATE DATABASE shop_changes TEMPLATE shop')
    try:
        site(read(shop, tmp_path, db='shop_changes'), tmp_path)
        assert (tmp_path / 'html' / 'shop_changes' / 'sales' / 'monthly_totals_draft.html').exists()
        shop.psql(CHANGE, db='shop_changes')
        result = site(read(shop, tmp_path, db='shop_changes', name='after.json.gz'), tmp_path)
    finally:
        shop.psql('DROP DATABASE shop_changes')
    got = sorted((c['kind'], c['object'], c['change'], sorted(c['attributes'])) for c in result['changes'])
    assert got == [
        ('columns', 'sales.customer.email', 'altered', ['type']),
        ('columns', 'sales.product.discontinued', 'added', []),
        ('constraints', 'sales.order_line.order_line_product_id_fkey', 'altered', ['indexed']),
        ('indexes', 'sales.order_line_product', 'added', []),
        ('relations', 'sales.coupon', 'added', []),
        ('relations', 'sales.monthly_totals_draft', 'dropped', []),
        ('relations', 'sales.orders', 'altered', ['comment']),
        ('relations', 'sales.product', 'altered', ['acl']),
    ], got
    email = [c for c in result['changes'] if c['object'] == 'sales.customer.email'][0]
    assert email['attributes']['type'] == ['text', 'character varying(320)']
    ids = sorted((f['id'], f['severity']) for f in result['findings'] if f['severity'] != 'ok')
    assert ids == [('schema.changed', 'info')] * 7 + [('schema.privileges_changed', 'warning')], ids
    log = (tmp_path / 'md' / 'CHANGELOG.md').read_text()
    assert '- `shop_changes`: relation `sales.coupon` added' in log
    assert '- `shop_changes`: column `sales.customer.email` altered: type `text` \u2192 `character varying(320)`' in log
    assert not (tmp_path / 'html' / 'shop_changes' / 'sales' / 'monthly_totals_draft.html').exists()
    assert (tmp_path / 'html' / 'shop_changes' / 'sales' / 'coupon.html').exists()
    history = json.loads((tmp_path / 'history' / 'changelog.json').read_text())
    assert len(history["entries"]) == 1 and len(os.listdir(str(tmp_path / "history"))) == 3  # two snapshots, the log


def test_another_hosts_snapshot_is_compared(shop, tmp_path):
    staging = PgCluster().start()
    try:
        staging.psql('CREATE DATABASE shop')
        staging.psql(SQL, db='shop')
        staging.psql('ALTER TABLE sales.product ADD COLUMN colour text; DROP INDEX sales.orders_open', db='shop')
        run_module('schema_site', dict(facts=read(staging, tmp_path, name='staging.json.gz'),
                                       history_dir=str(tmp_path / 'staging-history')))
    finally:
        staging.destroy()
    result = site(read(shop, tmp_path), tmp_path, compare_with=str(tmp_path / 'staging-history'),
                  compare_label='staging')
    got = sorted((c['object'], c['change']) for c in result['differences'])
    assert got == [('sales.orders_open', 'added'), ('sales.product.colour', 'dropped')], got
    assert sorted(f['id'] for f in result['findings'] if f['severity'] != 'ok') == ['schema.differs_from_reference'] * 2
    page = (tmp_path / 'md' / 'COMPARE.md').read_text()
    assert '# Compared with `staging`' in page and 'column `sales.product.colour` dropped' in page
    assert '[Compared with staging](COMPARE.md)' in (tmp_path / 'md' / 'README.md').read_text()


HOSTILE = r"""
CREATE SCHEMA "we""ird";
CREATE TABLE "we""ird"."x|y<script>alert(1)</script>" (
  "`tick`" int PRIMARY KEY,
  "a
b" text,
  "-- c" text
);
COMMENT ON TABLE "we""ird"."x|y<script>alert(1)</script>" IS E'line one\n# not a heading\n| a | b |\n'
  '[click](javascript:alert(1)) </script><img src=x onerror=alert(1)> ``` \\';
CREATE TABLE "we""ird"."Index" (id int REFERENCES "we""ird"."x|y<script>alert(1)</script>");
CREATE TABLE "we""ird"."index" (id int);
"""


def test_hostile_names_and_comments_stay_data(shop, tmp_path):
    shop.psql('CREATE DATABASE "odd db/../x"')
    try:
        shop.psql(HOSTILE, db='odd db/../x')
        facts = os.path.join(str(tmp_path), 'odd.json')
        run_module('schema_doc', shop.login(databases=['odd db/../x'], dest=facts))
        result = site(facts, tmp_path)
    finally:
        shop.psql('DROP DATABASE "odd db/../x"')
    assert result['changed']
    md_root, html_root = str(tmp_path / 'md'), str(tmp_path / 'html')
    files = list(tree(md_root)) + list(tree(html_root))
    assert all(not p.startswith('..') and '<' not in p and '|' not in p for p in files), files
    pages = [p for p in tree(html_root) if p.endswith('.html') and '/' in p and p.count('/') == 2]
    assert len([p for p in pages if not p.endswith('/index.html')]) == 3, pages   # Index and index apart
    for path in tree(md_root):
        if not path.endswith('.md'):
            continue
        text = open(os.path.join(md_root, path), encoding='utf-8').read()
        prose = re.sub(r'(?<![\\`])(`+)(?!`).*?(?<!`)\1(?!`)', '', text)   # a code span shows its text literally
        assert '<script' not in prose and '<img' not in prose and '](javascript' not in prose.replace('\\]', ''), path
        for table in re.findall(r'(?:^\|.*\|$\n?)+', text, re.M):
            rows = table.strip('\n').split('\n')
            cells = [len(re.findall(r'(?<!\\)\|', r)) for r in rows]
            assert len(set(cells)) == 1, (path, rows)
        for block in re.findall(r'```mermaid\n(.*?)\n```', text, re.S):
            assert not re.search(r'[<>|`;#]', block.replace('||--o{', '').replace('|o--o{', '')), block
    for path in tree(html_root):
        text = open(os.path.join(html_root, path), encoding='utf-8').read()
        if path.endswith('.html'):
            assert text.count('<script') == 2 and '<img' not in text and 'javascript:' not in text.replace(
                'javascript:alert', ''), path
        if path.endswith('search-index.js'):
            assert '</script' not in text and '<' not in text


def test_a_failure_at_each_writing_step_puts_every_file_back(shop, tmp_path):
    first = read(shop, tmp_path)
    site(first, tmp_path)
    shop.psql('CREATE TABLE sales.fault_probe (id int PRIMARY KEY)', db='shop')
    try:
        second = read(shop, tmp_path, name='second.json.gz')
    finally:
        shop.psql('DROP TABLE sales.fault_probe', db='shop')
    before = dict((d, tree(str(tmp_path / d))) for d in ('md', 'html', 'history'))
    for step in ('history', 'markdown', 'html'):
        with pytest.raises(ModuleFailed) as err:
            site(second, tmp_path, env={'PGOPS_FAULT_AT': step})
        msg = err.value.result['msg']
        assert 'injected fault after the step "%s"' % step in msg and 'put back' in msg, msg
        assert dict((d, tree(str(tmp_path / d))) for d in ('md', 'html', 'history')) == before, step
    done = site(second, tmp_path)
    assert [c['object'] for c in done['changes']] == ['sales.fault_probe']


def test_a_directory_of_other_files_is_refused_unless_named(shop, tmp_path):
    facts = read(shop, tmp_path)
    foreign = tmp_path / 'docs'
    foreign.mkdir()
    (foreign / 'handbook.md').write_text('ours\n')
    with pytest.raises(ModuleFailed) as err:
        run_module('schema_site', dict(facts=facts, markdown_dir=str(foreign)))
    assert 'markdown_dir' in err.value.result['msg'] and 'overwrite_foreign_directory' in err.value.result['msg']
    assert os.listdir(str(foreign)) == ['handbook.md']
    run_module('schema_site', dict(facts=facts, markdown_dir=str(foreign), overwrite_foreign_directory=True))
    assert (foreign / 'handbook.md').read_text() == 'ours\n' and (foreign / 'shop' / 'sales.md').exists()
    # from now on the directory is the module's: a second run needs no override and keeps the other file
    run_module('schema_site', dict(facts=facts, markdown_dir=str(foreign)))
    assert (foreign / 'handbook.md').read_text() == 'ours\n'


def test_the_site_in_a_browser_loads_nothing_from_outside_draws_and_finds_a_column(shop, tmp_path):
    from tests.harness.browser import open_page, pixels_of
    site(read(shop, tmp_path), tmp_path)
    html = tmp_path / 'html'
    found = open_page(str(html / 'index.html'), height=800, query='q=email')
    assert found['requests'] == []
    hits = re.search(r'<ol id="hits">(.*?)</ol>', found['dom'], re.S).group(1)
    assert '<a href="shop/sales/customer.html">sales.customer.email</a>' in hits, hits
    nothing = open_page(str(html / 'shop' / 'sales' / 'customer.html'), height=800, query='q=no_such_thing')
    assert 'Nothing found' in re.search(r'<ol id="hits">(.*?)</ol>', nothing['dom'], re.S).group(1)
    page = open_page(str(html / 'shop' / 'sales' / 'orders.html'), height=1400)
    assert page['requests'] == []
    assert page['dom'].count('class="node"') == 7
    assert pixels_of(page['image'], (0xfd, 0xe6, 0x8a)) > 1000, 'the diagram is drawn (the table itself in yellow)'
