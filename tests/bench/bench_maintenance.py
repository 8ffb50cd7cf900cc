# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the weekly maintenance and the monthly reviews (`make bench`, or `make bench-maintenance`).

1. maintenance on a ~1 GB table with planted dead rows, stale statistics and a bloated index, against
   `vacuumdb --analyze-only` plus `reindexdb --concurrently` on the same objects in a copy of the
   database; a client commits every 20 ms on the table during each, and its longest wait is kept.
   check_postgres's `bloat` action reads the same database: its estimates beside ours.
2. index_review and performance_review over 10,000 tables / 30,000 indexes / 5,000 statements:
   wall time and SQL round trips.

BENCH_MAINT_ROWS (default 6,000,000, about 1 GB) and BENCH_REVIEW_TABLES (default 10,000) scale it.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                'build', 'collections'))

from tests.harness.pgcluster import PgCluster, run_module  # noqa: E402
from ansible_collections.pgops.postgresql.plugins.modules import index_review, performance_review  # noqa: E402
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec  # noqa: E402

ROWS = int(os.environ.get('BENCH_MAINT_ROWS', 6000000))
TABLES = int(os.environ.get('BENCH_REVIEW_TABLES', 10000))


class Writer(object):
    """Commits one row every 20 ms into ``big``; keeps each commit's wait."""

    def __init__(self, cluster, db):
        self.cluster, self.db, self.waits, self.stop = cluster, db, [], threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        conn = self.cluster.connect(db=self.db)
        cur = conn.cursor()
        while not self.stop.is_set():
            t0 = time.time()
            cur.execute("INSERT INTO big (k, v, pad) VALUES (0, 'w', 'w')")
            self.waits.append(time.time() - t0)
            time.sleep(0.02)
        conn.close()

    def __enter__(self):
        self.thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def maintenance_vs_tools(c):
    c.psql('CREATE DATABASE m1')
    t0 = time.time()
    c.psql("CREATE TABLE big (id bigserial PRIMARY KEY, k int, v text, pad text) WITH (autovacuum_enabled = false);"
           "INSERT INTO big (k, v, pad) SELECT g %% 1000, md5(g::text), repeat('x', 80) FROM generate_series(1, %d) g;"
           "CREATE INDEX big_v ON big (v); VACUUM ANALYZE big;"
           "DELETE FROM big WHERE id %% 2 = 0; VACUUM big;"
           "UPDATE big SET k = k + 1 WHERE id %% 10 = 1;" % ROWS, db='m1')
    size = int(c.psql("SELECT pg_total_relation_size('big')", db='m1'))
    c.psql('CREATE DATABASE m2 TEMPLATE m1')
    build_s = time.time() - t0
    login = c.login(databases=['m1'], lock_timeout_ms=1000, statement_timeout_s=3600, max_objects=10)
    plan = run_module('maintenance', login, check_mode=True)['plan']
    with Writer(c, 'm1') as w1:
        t0 = time.time()
        result = run_module('maintenance', login)
        ours_s = time.time() - t0
    bloat = [b for b in result['bloat'] if b['name'] in ('big', 'big_v')]
    env = dict(os.environ, PGHOST=c.socket_dir, PGPORT=str(c.port), PGUSER='postgres')
    with Writer(c, 'm2') as w2:
        t0 = time.time()
        subprocess.run([c.bin('vacuumdb'), '--analyze-only', '-t', 'big', '-d', 'm2'], env=env, check=True,
                       capture_output=True)
        subprocess.run([c.bin('reindexdb'), '--concurrently', '-i', 'big_v', '-i', 'big_pkey', '-d', 'm2'], env=env,
                       check=True,
                       capture_output=True)
        tools_s = time.time() - t0
    check_postgres = subprocess.run(['check_postgres', '--action=bloat', '--db=m2', '--host=%s' % c.socket_dir,
                                     '--port=%d' % c.port, '--dbuser=postgres', '--warning=1', '--critical=2',
                                     '--perflimit=10'], env=env, capture_output=True, text=True, check=False)
    return {
        'table_bytes': size, 'build_s': round(build_s, 1),
        'planned': [(i['action'], i['name']) for i in plan],
        'maintenance_s': round(ours_s, 1), 'maintenance_items': [(i['action'], i['name'], i.get('status'),
                                                                  i.get('seconds')) for i in result['plan']],
        'maintenance_writer_max_wait_ms': round(1000 * max(w1.waits), 1), 'maintenance_writer_commits': len(w1.waits),
        'tools_s': round(tools_s, 1), 'tools_writer_max_wait_ms': round(1000 * max(w2.waits), 1),
        'tools_writer_commits': len(w2.waits),
        'our_bloat': [(b['kind'], b['name'], b['bloat_pct'], b['method']) for b in bloat],
        'check_postgres_bloat': [part.strip() for part in re.split(r' \* |\| ', check_postgres.stdout)
                                 if 'big' in part and '(db m2)' in part] or check_postgres.stdout.strip()[:600],
    }


def params(c, **extra):
    spec = connection_argument_spec()
    p = dict((k, v.get('default')) for k, v in spec.items())
    p.update(waivers=[], checks=[], skip_checks=[], cadence=None, thresholds={}, databases=[],
             exclude_databases=[], measure_bloat=False, used_elsewhere=[], scanned_only=False, baseline=None, top=10,
             snapshot_size=500)
    p.update(c.login(**extra))
    return p


def reviews_at_scale(c):
    c.psql('CREATE DATABASE many')
    c.psql('CREATE EXTENSION pg_stat_statements', db='many')
    t0 = time.time()
    for start in range(1, TABLES + 1, 1000):
        c.psql("DO $$ BEGIN FOR t IN %d..%d LOOP EXECUTE format("
               "'CREATE TABLE t_%%s (id int PRIMARY KEY, a int, b int, c int); CREATE INDEX ON t_%%s (a); "
               "CREATE INDEX ON t_%%s (a, b)', t, t, t); END LOOP; END $$;" % (start, min(start + 999, TABLES)),
               db='many')
    statements = min(5000, TABLES)
    c.psql(';'.join('SELECT count(*) FROM t_%d WHERE b = 1' % i for i in range(1, statements + 1)), db='many')
    c.psql('ANALYZE', db='many')
    build_s = time.time() - t0
    counts = c.psql("SELECT (SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE 't\\_%') || ' tables, ' "
                    "|| (SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relname LIKE 't\\_%') || ' indexes, ' "
                    "|| (SELECT count(*) FROM pg_stat_statements) || ' statements'", db='many')
    out = {'built': counts, 'build_s': round(build_s, 1)}
    for name, module, extra in (('index_review', index_review, dict(databases=['many'])),
                                ('performance_review', performance_review, dict(login_db='many'))):
        times, result = [], None
        for dummy in range(3):
            t0 = time.perf_counter()
            result = module.run(params(c, **extra))
            times.append(time.perf_counter() - t0)
        out[name] = {'median_s': round(sorted(times)[1], 2), 'round_trips': result['round_trips'],
                     'findings': len([f for f in result['findings'] if f['severity'] != 'ok'])}
    return out


def main():
    c = PgCluster(settings={'autovacuum': 'off', 'shared_preload_libraries': 'pg_stat_statements',
                            'max_wal_size': '4GB', 'shared_buffers': '256MB', 'maintenance_work_mem': '256MB'},
                  checksums=False).start()
    try:
        figures = {'maintenance_1gb': maintenance_vs_tools(c), 'reviews': reviews_at_scale(c)}
    finally:
        c.destroy()
    print(json.dumps(figures, indent=2))


if __name__ == '__main__':
    main()
