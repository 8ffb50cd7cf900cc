# SPDX-License-Identifier: GPL-3.0-or-later
"""The schema documentation at 1,000 and 10,000 tables (a bigserial key, three indexes and a foreign key
to the table before each, `make bench-schema`): schema_doc's wall time (a process, as Ansible runs it),
round trips and the size of what it returns or writes; schema_site's time to write the dictionary, the
site with its diagrams and the history, a second run over the same schema, and the size of the site.
Then the schema fixture documented by postgresql_autodoc (Debian) and by schema_site: which of the
fixture's objects and attributes each output shows."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html import unescape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench.bench_health_check import build_objects  # noqa: E402
from tests.harness.pgcluster import PgCluster, run_module  # noqa: E402
from tests.harness.schema_fixture import SQL  # noqa: E402

# what the fixture holds, and a text that shows it in a rendering
PROBES = [
    ('table comment', 'People and companies that order'),
    ('column comment', 'Where invoices go'),
    ('column default', 'now()'),
    ('identity column', 'identity'),
    ('generated column', 'price * 1.2'),
    ('column collation', 'collation C'),
    ('check constraint', 'price &gt;= 0'),
    ('exclusion constraint', 'EXCLUDE USING gist'),
    ('foreign key action', 'on delete cascade'),
    ('cross-schema foreign key', 'manager_customer'),
    ('index method (gin)', 'gin'),
    ('expression index', 'lower(sku)'),
    ('partial index predicate', 'total IS NULL'),
    ('index INCLUDE columns', '<code>price</code></td><td></td><td>yes'),
    ('index size and scans', 'kB'),
    ('partition and its bound', "FOR VALUES FROM ('2026-01-01')"),
    ('partition key', 'RANGE (ordered_on)'),
    ('view definition', 'LEFT JOIN sales.orders'),
    ('materialized view', 'monthly_totals_draft'),
    ('matview never populated', 'never populated'),
    ('function', 'order_total'),
    ('procedure', 'close_month'),
    ('SECURITY DEFINER', 'definer'),
    ('function search_path', 'pg_catalog, hr'),
    ('trigger', 'orders_touch'),
    ('sequence', 'invoice_no'),
    ('sequence owned by a column', 'sales.product.product_id'),
    ('extension', 'pg_trgm'),
    ('row-level security policy', 'region_only'),
    ('privileges (ACL)', 'fixture_reader'),
    ('row estimate', 'rows'),
]


def fk_chain(c, first, tables):
    for start in range(max(first, 2), tables + 1, 500):
        end = min(start + 499, tables)
        c.psql("DO $$ BEGIN FOR i IN %d..%d LOOP EXECUTE format('ALTER TABLE b_%%s ADD FOREIGN KEY (w) REFERENCES "
               "b_%%s', i, i - 1); END LOOP; END $$;" % (start, end))


def tree_size(root):
    total = count = 0
    for base, dummy, files in os.walk(root):
        for name in files:
            total += os.path.getsize(os.path.join(base, name))
            count += 1
    return total, count


def scale(c, work):
    print('| database | schema_doc returning facts | round trips | facts returned | schema_doc to a file (gzip) | '
          'schema_site first run | second run | HTML site | Markdown |')
    print('|---|---|---|---|---|---|---|---|---|')
    done = 0
    for tables in (1000, 10000):
        label = build_objects(c, tables, 0)
        fk_chain(c, done + 1, tables)
        done = tables
        times = []
        for dummy in range(3):
            t0 = time.time()
            result = run_module('schema_doc', c.login(databases=['postgres'], exclude_databases=[]))
            times.append(time.time() - t0)
        size = len(json.dumps(result['databases']))
        facts = os.path.join(work, 'facts-%d.json.gz' % tables)
        t0 = time.time()
        written = run_module('schema_doc', c.login(databases=['postgres'], exclude_databases=[], dest=facts))
        to_file = time.time() - t0
        out = os.path.join(work, 'site-%d' % tables)
        args = dict(facts=facts, html_dir=os.path.join(out, 'html'), markdown_dir=os.path.join(out, 'md'),
                    history_dir=os.path.join(out, 'history'))
        t0 = time.time()
        run_module('schema_site', args)
        first = time.time() - t0
        t0 = time.time()
        again = run_module('schema_site', args)
        second = time.time() - t0
        assert not again['changed']
        html_bytes, html_files = tree_size(args['html_dir'])
        md_bytes, md_files = tree_size(args['markdown_dir'])
        print('| %s, %d foreign keys | %.2f s (best of 3) | %d | %.1f MB | %.2f s, %.1f MB | %.1f s | %.1f s | '
              '%d files, %.1f MB | %d files, %.1f MB |' % (
                  label, tables - 1, min(times), result['round_trips'], size / 1e6, to_file,
                  written['dest']['bytes'] / 1e6, first, second, html_files, html_bytes / 1e6, md_files,
                  md_bytes / 1e6), flush=True)


def autodoc(c, work):
    c.psql('CREATE DATABASE shop TEMPLATE postgres')   # the fixture, loaded in postgres first
    outdir = os.path.join(work, 'autodoc')
    os.makedirs(outdir)
    t0 = time.time()
    proc = subprocess.run(['postgresql_autodoc', '-d', 'shop', '-h', c.socket_dir, '-p', str(c.port), '-u', 'postgres',
                           '-f', os.path.join(outdir, 'shop')], capture_output=True, text=True, check=False)
    autodoc_s = time.time() - t0
    facts = os.path.join(work, 'shop.json')
    t0 = time.time()
    run_module('schema_doc', c.login(databases=['shop'], dest=facts))
    run_module('schema_site', dict(facts=facts, html_dir=os.path.join(work, 'shop-site')))
    ours_s = time.time() - t0
    theirs = ''
    for name in sorted(os.listdir(outdir)):
        if name.endswith('.html'):
            theirs += open(os.path.join(outdir, name), encoding='utf-8', errors='replace').read()
    ours = ''
    for base, dummy, files in os.walk(os.path.join(work, 'shop-site')):
        for name in files:
            if name.endswith('.html'):
                ours += open(os.path.join(base, name), encoding='utf-8').read()
    print('\npostgresql_autodoc (rc %d, %.2f s; outputs: %s) against schema_doc + schema_site (%.2f s) on the '
          'schema fixture:\n' % (proc.returncode, autodoc_s, ', '.join(sorted(os.listdir(outdir))), ours_s))
    print('| object or attribute | postgresql_autodoc | schema_site |')
    print('|---|---|---|')
    theirs, ours = re.sub(r'\s+', ' ', unescape(theirs)).lower(), re.sub(r'\s+', ' ', unescape(ours)).lower()
    for what, text in PROBES:
        text = unescape(text).lower()
        print('| %s | %s | %s |' % (what, 'yes' if text in theirs else 'no', 'yes' if text in ours else 'no'))


def main():
    c = PgCluster(settings={'autovacuum': 'off', 'max_locks_per_transaction': 256}).start()
    work = tempfile.mkdtemp(prefix='pgops-bench-schema-')
    try:
        c.psql(SQL)
        if shutil.which('postgresql_autodoc'):
            autodoc(c, work)
        else:
            print('postgresql_autodoc is not installed (make system-packages installs it)')
        print()
        scale(c, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        c.destroy()


if __name__ == '__main__':
    main()
