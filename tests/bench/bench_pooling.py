# SPDX-License-Identifier: GPL-3.0-or-later
"""pgbench through pgbouncer 1.18 (transaction mode) against direct connections (`make bench-pooling`).

A real PostgreSQL 15 (max_connections 250) and a pgbouncer in front of it (transaction pool of 20
server connections, max_client_conn 400), both on this machine, TCP on 127.0.0.1 without TLS on
either side (the figure is the pooler's own cost and benefit). pgbench -S (read-only) and the
default TPC-B-like script at 50 and 200 clients, each for BENCH_POOL_SECONDS (default 15), and
once with a new connection per transaction (-C) at 50 clients: TPS and mean latency side by side.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgbouncer import PgBouncer  # noqa: E402
from tests.harness.pgcluster import PgCluster  # noqa: E402

SECONDS = int(os.environ.get('BENCH_POOL_SECONDS', 15))


def pgbench(c, port, clients, extra):
    env = dict(os.environ, PGHOST='127.0.0.1', PGPORT=str(port), PGUSER='postgres', PGPASSWORD=c.password)
    argv = [c.bin('pgbench'), '-n', '-c', str(clients), '-j', '2', '-T', str(SECONDS)] + extra + ['postgres']
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    tps = re.search(r'tps = ([\d.]+)', out.stdout)
    lat = re.search(r'latency average = ([\d.]+) ms', out.stdout)
    failed = re.search(r'number of failed transactions: (\d+)', out.stdout)
    if not tps:
        return None, None, (out.stderr or out.stdout).strip().splitlines()[-1:]
    return float(tps.group(1)), float(lat.group(1)) if lat else None, int(failed.group(1)) if failed else 0


def main():
    c = PgCluster(settings={'max_connections': 250, 'shared_buffers': '128MB'}).start()
    b = PgBouncer(c, pool_size=20, pool_mode='transaction', max_client_conn=400)
    try:
        env = dict(os.environ, PGHOST=c.socket_dir, PGPORT=str(c.port), PGUSER='postgres')
        subprocess.run([c.bin('pgbench'), '-i', '-q', '-s', '10', 'postgres'], env=env, check=True, capture_output=True)
        print('| workload | clients | direct TPS | direct latency | pgbouncer TPS | pgbouncer latency |')
        print('|---|---|---|---|---|---|')
        for name, extra, clients in (('read-only (-S)', ['-S'], 50), ('read-only (-S)', ['-S'], 200),
                                     ('TPC-B-like', [], 50), ('TPC-B-like', [], 200),
                                     ('read-only, a connection per transaction (-C)', ['-S', '-C'], 50)):
            direct = pgbench(c, c.port, clients, extra)
            pooled = pgbench(c, b.port, clients, extra)
            print('| %s | %d | %s | %s | %s | %s |' % (
                name, clients, '%.0f' % direct[0] if direct[0] else direct[2], '%.2f ms' % direct[1] if direct[1] else '-',
                '%.0f' % pooled[0] if pooled[0] else pooled[2], '%.2f ms' % pooled[1] if pooled[1] else '-'), flush=True)
    finally:
        b.destroy()
        c.destroy()


if __name__ == '__main__':
    main()
