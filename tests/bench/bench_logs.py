# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of log_review against pgBadger (`make bench-logs`, part of `make bench`).

A real PostgreSQL 15 server writes one log file of about BENCH_LOG_MB megabytes (default 1024):
pgbench with log_min_duration_statement=0 (every statement with its duration), a share of its
clients connecting per transaction (log_connections, log_disconnections), and between the pgbench
rounds an error burst (a missing table) and password failures from 127.0.0.1. Then, on the same
file:

* pgBadger 12 (one process, -j 1, and with -j 2), its JSON output read for its counts;
* log_review over the whole file (no cursor), then again with the cursor it returned (nothing new);

and prints wall time and the counts of errors, authentication failures and slow statements of each,
side by side. The counts planted are known, so both can be checked against them.
"""

import glob
import json
import os
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgcluster import PgCluster, run_module  # noqa: E402

TARGET = int(os.environ.get('BENCH_LOG_MB', 1024)) * 1024 * 1024
PREFIX = '%m [%p] %q%u@%d %h '
ERRORS_PER_ROUND = 200
AUTH_PER_ROUND = 20


def log_file(c):
    files = glob.glob(os.path.join(c.data_dir, 'log', '*.log'))
    return files[0] if files else None


def plant(c, rnd):
    conn = c.connect()
    cur = conn.cursor()
    for dummy in range(ERRORS_PER_ROUND):
        try:
            cur.execute('SELECT * FROM missing_table_%d' % (rnd % 3))
        except psycopg2.Error:
            pass
    conn.close()
    for dummy in range(AUTH_PER_ROUND):
        try:
            psycopg2.connect(host='127.0.0.1', port=c.port, user='app', password='guess', dbname='postgres',
                             connect_timeout=5).close()
        except psycopg2.OperationalError:
            pass


def generate(c):
    env = dict(os.environ, PGHOST=c.socket_dir, PGPORT=str(c.port), PGUSER='postgres')
    subprocess.run([c.bin('pgbench'), '-i', '-q', '-s', '2', 'postgres'], env=env, check=True, capture_output=True)
    c.psql('CREATE ROLE app LOGIN PASSWORD \'right\'')
    rounds = 0
    t0 = time.time()
    while True:
        path = log_file(c)
        size = os.path.getsize(path) if path else 0
        if size >= TARGET:
            break
        rounds += 1
        plant(c, rounds)
        # 3 clients with a session each, 1 connecting for every transaction
        a = subprocess.Popen([c.bin('pgbench'), '-n', '-c', '3', '-j', '1', '-T', '20', 'postgres'], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        b = subprocess.Popen([c.bin('pgbench'), '-n', '-C', '-c', '1', '-T', '20', '-S', 'postgres'], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        a.wait()
        b.wait()
        print('  round %d: %.0f MB of log after %.0f s' % (rounds, size / 1048576.0, time.time() - t0), flush=True)
    return rounds, time.time() - t0


def pgbadger(path, jobs, out_dir):
    out = os.path.join(out_dir, 'pgbadger-j%d.json' % jobs)
    t0 = time.time()
    subprocess.run(['pgbadger', '-q', '-j', str(jobs), '-f', 'stderr', '--prefix', PREFIX, '-o', out, path],
                   check=True, capture_output=True)
    wall = time.time() - t0
    with open(out) as fh:
        data = json.load(fh)
    return wall, data


def badger_counts(data):
    """Errors (ERROR level, by the level of the sample line: pgBadger files some LOG lines with the
    errors), authentication failures (FATAL password authentication failed) and statements with a
    duration, from pgBadger's JSON."""
    errors = auth = 0
    for instance in (data.get('error_info') or {}).values():
        for message, info in instance.items():
            level = ((info.get('error') or ['?'])[0] or '?').split(':', 1)[0]
            if level == 'ERROR':
                errors += info.get('count', 0)
            elif level == 'FATAL' and 'password authentication failed' in message:
                auth += info.get('count', 0)
    return errors, auth, (data.get('overall_stat') or {}).get('queries_number')


def main():
    c = PgCluster(settings={'logging_collector': 'on', 'log_directory': 'log', 'log_filename': 'bench.log',
                            'log_rotation_size': '0', 'log_rotation_age': '0', 'log_line_prefix': PREFIX,
                            'log_min_duration_statement': '0', 'log_connections': 'on',
                            'log_disconnections': 'on', 'max_connections': 20}).start()
    try:
        print('Generating about %d MB of log ...' % (TARGET // 1048576), flush=True)
        rounds, gen = generate(c)
        path = log_file(c)
        size = os.path.getsize(path)
        planted_errors, planted_auth = rounds * ERRORS_PER_ROUND, rounds * AUTH_PER_ROUND
        print('Log: %s, %.2f GB, %d rounds in %.0f s: %d errors and %d password failures planted'
              % (path, size / 1024.0 ** 3, rounds, gen, planted_errors, planted_auth), flush=True)
        c.psql("ALTER SYSTEM SET log_min_duration_statement = -1; SELECT pg_reload_conf()")
        time.sleep(1)
        results = []
        for jobs in (1, 2):
            wall, data = pgbadger(path, jobs, c.base)
            results.append(('pgBadger 12 -j %d' % jobs, wall, data))
        t0 = time.time()
        first = run_module('log_review', c.login(log_files=[path], thresholds={'slow_statement_warning_ms': 0}))
        full = time.time() - t0
        t0 = time.time()
        again = run_module('log_review', c.login(log_files=[path], cursor=first['next_cursor']))
        incremental = time.time() - t0
        m = first['metrics']
        print('\n| tool | wall time | errors | auth failures | statements with a duration |')
        print('|---|---|---|---|---|')
        for name, wall, data in results:
            errors, auth, queries = badger_counts(data)
            print('| %s | %.1f s | %s | %s | %s |' % (name, wall, errors, auth, queries))
        print('| log_review, whole file | %.1f s | %d | %d | %d |' % (
            full, m['errors'], m['auth_failures'], m['signals'].get('slow_statements', 0)))
        print('| log_review, again with its cursor | %.3f s | %d | %d | %d (%d bytes read) |' % (
            incremental, again['metrics']['errors'], again['metrics']['auth_failures'],
            again['metrics']['signals'].get('slow_statements', 0), again['metrics']['bytes_read']))
        print('| planted | | %d | %d | |' % (planted_errors, planted_auth))
        print('\nlog_review read %.2f GB, %d entries: %.0f MB/s' % (m['bytes_read'] / 1024.0 ** 3, m['entries'],
                                                                    m['bytes_read'] / 1048576.0 / full))
    finally:
        c.destroy()


if __name__ == '__main__':
    main()
