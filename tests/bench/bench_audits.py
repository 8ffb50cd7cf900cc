# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of role_audit and security_audit (`make bench`).

A throwaway PostgreSQL 15 cluster with 2,000 roles (1,600 login roles in 400 groups, with
chains of memberships), 10 databases and 5,000 grants spread over them. Times each module in
process (no Ansible start-up), median of runs, and reports SQL round trips: they grow with the
number of databases, never with roles, grants or objects.
"""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                'build', 'collections'))

from tests.harness.pgcluster import ROOT, PgCluster  # noqa: E402
from ansible_collections.pgops.postgresql.plugins.modules import role_audit, security_audit  # noqa: E402
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec  # noqa: E402

RUNS = 5


def build(c):
    c.psql("""
      DO $$ BEGIN
        FOR g IN 1..400 LOOP EXECUTE format('CREATE ROLE grp_%s NOLOGIN', g); END LOOP;
        FOR g IN 2..400 LOOP EXECUTE format('GRANT grp_%s TO grp_%s', g - 1, g); END LOOP;
        FOR u IN 1..1600 LOOP
          EXECUTE format('CREATE ROLE usr_%s LOGIN', u);
          EXECUTE format('GRANT grp_%s TO usr_%s', 1 + (u % 400), u);
        END LOOP;
      END $$;
      CREATE ROLE dba SUPERUSER NOLOGIN; GRANT dba TO grp_1;
    """)
    for d in range(1, 11):
        c.psql('CREATE DATABASE bench_%d' % d)
        c.psql("""
          DO $$ BEGIN
            FOR t IN 1..100 LOOP EXECUTE format('CREATE TABLE t_%s (id int)', t); END LOOP;
            FOR i IN 1..500 LOOP
              EXECUTE format('GRANT SELECT ON t_%s TO usr_%s', 1 + (i % 100), 1 + ((i * 7) % 1600));
            END LOOP;
          END $$;
        """, db='bench_%d' % d)
    return c.psql("SELECT (SELECT count(*) FROM pg_roles) || ' roles, ' || "
                  "(SELECT count(*) FROM pg_auth_members) || ' memberships, ' || "
                  "(SELECT count(*) FROM pg_shdepend WHERE deptype = 'a') || ' grants, ' || "
                  "(SELECT count(*) FROM pg_database WHERE datname LIKE 'bench%') || ' databases'")


def timed(module, params):
    times, result = [], None
    for dummy in range(RUNS):
        start = time.perf_counter()
        result = module.run(params)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def params_for(module, c):
    spec = module_spec(module)
    params = dict((k, v.get('default')) for k, v in spec.items())
    params.update(c.login())
    return params


def module_spec(module):
    spec = connection_argument_spec()
    spec.update(waivers=dict(default=[]), databases=dict(default=[]))
    if module is role_audit:
        spec.update(expected=dict(default=None), connection_log=dict(default=None),
                    max_objects_per_check=dict(default=200), admin_roles=dict(default=[]))
    else:
        spec.update(expiry_warning_days=dict(default=30), admin_roles=dict(default=[]))
    return spec


def main():
    c = PgCluster(settings={'autovacuum': 'off', 'max_locks_per_transaction': 256}).start()
    results = {}
    try:
        started = time.time()
        print('built %s in %.0f s' % (build(c), time.time() - started), flush=True)
        for name, module in (('role_audit', role_audit), ('security_audit', security_audit)):
            seconds, result = timed(module, params_for(module, c))
            results[name] = {'seconds': round(seconds, 3), 'round_trips': result['round_trips'],
                             'databases': len(result['databases']), 'findings': len(result['findings'])}
            print(name, json.dumps(results[name]), flush=True)
    finally:
        c.destroy()
    out_dir = os.path.join(ROOT, 'build', 'bench')
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'audits.json'), 'w') as fh:
        json.dump(results, fh, indent=2)
    print('\n| module | time (median of %d) | round trips | databases | findings |' % RUNS)
    print('|---|---|---|---|---|')
    for name, r in results.items():
        print('| %s | %.3f s | %d | %d | %d |' % (name, r['seconds'], r['round_trips'], r['databases'], r['findings']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
