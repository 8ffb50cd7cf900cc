# SPDX-License-Identifier: GPL-3.0-or-later
"""A major upgrade of a 1 GB cluster (pgbench scale 70) from PostgreSQL 15 to 16 with the pg_upgrade module
(`make bench-upgrade`), in link mode and in copy mode: the downtime a writer sees (its first refused write to its
first accepted one, a commit every 20 ms over the unix socket) and the time of each step."""

import os
import sys
import threading
import time

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgcluster import ROOT, PgCluster, run_module  # noqa: E402

OLD_BIN = os.path.join(ROOT, 'build', 'pg', '15', 'bin')
NEW_BIN = os.path.join(ROOT, 'build', 'pg', '16', 'bin')
SCALE = int(os.environ.get('PGOPS_BENCH_SCALE', '70'))


class Writer(threading.Thread):
    """Commits one row every 20 ms, reconnecting after a failure; keeps the longest gap between two
    accepted commits and the first refused / first accepted write around it."""

    def __init__(self, c):
        super().__init__(daemon=True)
        self.c = c
        self.stop = False
        self.commits = 0
        self.refused_at = None
        self.gap = 0.0

    def run(self):
        conn = None
        last_ok = None
        while not self.stop:
            try:
                if conn is None:
                    conn = psycopg2.connect(host=self.c.socket_dir, port=self.c.port, user='postgres', dbname='postgres',
                                            connect_timeout=2)
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute('INSERT INTO probe VALUES (now())')
                now = time.time()
                if self.refused_at is not None:
                    self.gap = max(self.gap, now - self.refused_at)
                    self.refused_at = None
                last_ok = now
                self.commits += 1
            except psycopg2.Error:
                if self.refused_at is None:
                    self.refused_at = time.time()
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
            time.sleep(0.02)
        del last_ok


def one(mode):
    c = PgCluster(bin_dir=OLD_BIN, settings={'fsync': 'on'}).start()
    try:
        t0 = time.time()
        c.run([c.bin('pgbench'), '-i', '-q', '-s', str(SCALE), '-h', c.socket_dir, '-p', str(c.port), '-U', 'postgres',
               'postgres'])
        size = c.psql("SELECT pg_size_pretty(pg_database_size('postgres'))")
        init = time.time() - t0
        c.psql('CREATE TABLE probe (at timestamptz)')
        writer = Writer(c)
        writer.start()
        time.sleep(1)
        t0 = time.time()
        result = run_module('pg_upgrade', c.login(old_data_dir=c.data_dir, old_bin_dir=OLD_BIN, new_bin_dir=NEW_BIN,
                                                  new_data_dir=os.path.join(c.base, 'data16'), action='upgrade',
                                                  mode=mode, stop_old_cluster=True))
        total = time.time() - t0
        time.sleep(1)
        writer.stop = True
        writer.join()
        c.data_dir, c.bin_dir = os.path.join(c.base, 'data16'), NEW_BIN
        rows = c.psql('SELECT count(*) FROM pgbench_accounts')
        steps = ', '.join('%s %.2f' % (s['step'], s['seconds']) for s in result['steps'])
        print('| %s | %s (pgbench -i %.0f s) | %.2f s | %.2f s | %.1f s | %s | %s rows after |' % (
            mode, size, init, writer.gap, result['downtime_s'], total, steps, rows), flush=True)
    finally:
        c.destroy()


def main():
    print('| mode | database | writer: first refused to first accepted write | downtime_s (stop to start) | '
          'module total | steps (s) | check |')
    print('|---|---|---|---|---|---|---|')
    for mode in ('link', 'copy'):
        one(mode)


if __name__ == '__main__':
    main()
