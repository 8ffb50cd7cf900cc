# SPDX-License-Identifier: GPL-3.0-or-later
"""schema_doc at 1,000 and 10,000 tables (a bigserial key and three indexes each, `make bench-schema`):
wall time of the module (a process, as Ansible runs it), round trips, and the size of what it returns."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.bench.bench_health_check import build_objects  # noqa: E402
from tests.harness.pgcluster import PgCluster, run_module  # noqa: E402
from tests.harness.schema_fixture import SQL  # noqa: E402


def main():
    c = PgCluster(settings={'autovacuum': 'off', 'max_locks_per_transaction': 256}).start()
    try:
        c.psql(SQL)
        print('| database | wall time | round trips | returned JSON | objects |')
        print('|---|---|---|---|---|')
        for tables in (1000, 10000):
            label = build_objects(c, tables, 0)
            times = []
            for dummy in range(3):
                t0 = time.time()
                result = run_module('schema_doc', c.login(databases=['postgres'], exclude_databases=[]))
                times.append(time.time() - t0)
            size = len(json.dumps(result['databases']))
            print('| %s | %.2f s (best of 3) | %d | %.1f MB | %s |' % (
                label, min(times), result['round_trips'], size / 1e6,
                ', '.join('%d %s' % (n, k) for k, n in result['counts']['postgres'].items() if n)), flush=True)
    finally:
        c.destroy()


if __name__ == '__main__':
    main()
