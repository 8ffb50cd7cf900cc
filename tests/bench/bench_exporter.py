# SPDX-License-Identifier: GPL-3.0-or-later
"""Scrape time of prometheus-postgres-exporter 0.11 (Debian) with the monitoring role's queries, on an
empty database and on 10,000 tables with 30,000 indexes (`make bench-monitoring`).

The role runs the exporter with its default collectors and pgops-queries.yaml (one statement per
query, on its own database: master: true), and without --auto-discover-databases. Measured here
beside what the exporter's documented per-table queries (pg_stat_user_tables, one series per table
and column, from its queries.yaml example) would cost, which the role leaves out. Each figure is the
median of BENCH_SCRAPES (default 10) scrapes, with the number of series served.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench.bench_health_check import build_objects  # noqa: E402
from tests.harness.pgcluster import PgCluster, free_port  # noqa: E402

SCRAPES = int(os.environ.get('BENCH_SCRAPES', 10))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERIES = os.path.join(ROOT, 'roles', 'monitoring', 'files', 'pgops-queries.yaml')
PER_TABLE = """pg_stat_user_tables:
  query: "SELECT current_database() datname, schemaname, relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch,
    n_tup_ins, n_tup_upd, n_tup_del, n_live_tup, n_dead_tup, vacuum_count, autovacuum_count, analyze_count
    FROM pg_stat_user_tables"
  metrics:
    - datname: {usage: LABEL, description: db}
    - schemaname: {usage: LABEL, description: schema}
    - relname: {usage: LABEL, description: table}
    - seq_scan: {usage: COUNTER, description: x}
    - seq_tup_read: {usage: COUNTER, description: x}
    - idx_scan: {usage: COUNTER, description: x}
    - idx_tup_fetch: {usage: COUNTER, description: x}
    - n_tup_ins: {usage: COUNTER, description: x}
    - n_tup_upd: {usage: COUNTER, description: x}
    - n_tup_del: {usage: COUNTER, description: x}
    - n_live_tup: {usage: GAUGE, description: x}
    - n_dead_tup: {usage: GAUGE, description: x}
    - vacuum_count: {usage: COUNTER, description: x}
    - autovacuum_count: {usage: COUNTER, description: x}
    - analyze_count: {usage: COUNTER, description: x}
"""


def scrape_times(c, queries):
    port = free_port()
    env = dict(os.environ, DATA_SOURCE_URI='127.0.0.1:%d/postgres?sslmode=disable' % c.port,
               DATA_SOURCE_USER='postgres', DATA_SOURCE_PASS=c.password)
    proc = subprocess.Popen(['/usr/bin/prometheus-postgres-exporter', '--web.listen-address=127.0.0.1:%d' % port,
                             '--extend.query-path=' + queries, '--log.level=error'], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = 'http://127.0.0.1:%d/metrics' % port
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=60).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        times = []
        for dummy in range(SCRAPES):
            t0 = time.time()
            body = urllib.request.urlopen(url, timeout=120).read().decode()
            times.append(time.time() - t0)
        series = sum(1 for line in body.splitlines() if line and line[0] != '#')
        return round(statistics.median(times) * 1000, 1), series
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    c = PgCluster(settings={'autovacuum': 'off', 'max_locks_per_transaction': 256}).start()
    extra = tempfile.NamedTemporaryFile('w', suffix='.yaml', delete=False)
    with open(QUERIES) as fh:
        extra.write(fh.read() + '\n' + PER_TABLE)
    extra.close()
    try:
        print('| database | role queries: median scrape | series | with per-table statistics: median scrape | series |')
        print('|---|---|---|---|---|')
        for tables in (0, 10000):
            label = 'empty' if not tables else build_objects(c, tables, 0)
            ours = scrape_times(c, QUERIES)
            wide = scrape_times(c, extra.name)
            print('| %s | %s ms | %d | %s ms | %d |' % (label, ours[0], ours[1], wide[0], wide[1]), flush=True)
    finally:
        os.unlink(extra.name)
        c.destroy()


if __name__ == '__main__':
    main()
