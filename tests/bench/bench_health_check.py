# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the daily health check (`make bench`).

Builds a throwaway PostgreSQL cluster with 1,000 tables, then 10,000 tables, each with a
``bigserial`` key and two more indexes (10,000 owned sequences, 30,000 indexes), plus 100 then
1,000 standalone sequences, and at each size measures:

* the health_check module itself, in process (no Ansible or Python start-up): median of runs,
* the module as Ansible runs it (a Python process with its arguments file),
* the whole playbooks/daily.yml on localhost, against a bare playbook and a playbook with
  community.postgresql's postgresql_info on the same database,
* check_postgres running the equivalent actions, one process per action as a monitoring
  system runs it,

and reports SQL round trips. Results go to stdout and build/bench/health_check.json.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                'build', 'collections'))

from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster, run_module  # noqa: E402
from ansible_collections.pgops.postgresql.plugins.modules import health_check  # noqa: E402

RUNS = 7
BIN = os.path.dirname(sys.executable)
CHECK_POSTGRES_ACTIONS = [
    # action, extra arguments: the counterparts of the health_check checks
    ('connection', []), ('backends', []), ('txn_idle', ['--warning=300s', '--critical=1800s']),
    ('query_time', ['--warning=300s', '--critical=3600s']), ('prepared_txns', []),
    ('txn_wraparound', []), ('replication_slots', ['--warning=1GB', '--critical=10GB']),
    ('archive_ready', ['--warning=10', '--critical=100']), ('hitratio', ['--warning=90%', '--critical=80%']),
    ('commitratio', ['--warning=90%', '--critical=80%']), ('last_analyze', ['--warning=7d', '--critical=14d']),
    ('last_vacuum', ['--warning=7d', '--critical=14d']), ('bloat', ['--warning=1GB', '--critical=10GB']),
    ('sequence', ['--warning=75%', '--critical=90%']), ('database_size', ['--warning=100GB', '--critical=200GB']),
    ('wal_files', ['--warning=100', '--critical=200']),
]


def build_objects(c, tables, sequences):
    """Grow the database to `tables` tables (a bigserial key and 3 indexes each) and `sequences` sequences."""
    have = int(c.psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'b\\_%'"))
    chunk = 500
    for start in range(have + 1, tables + 1, chunk):
        end = min(start + chunk - 1, tables)
        c.psql("DO $$ BEGIN FOR i IN %d..%d LOOP EXECUTE format("
               "'CREATE TABLE b_%%s (id bigserial PRIMARY KEY, v int, w int); CREATE INDEX ON b_%%s (v); "
               "CREATE INDEX ON b_%%s (w); INSERT INTO b_%%s (v) VALUES (1)', i, i, i, i); "
               "END LOOP; END $$;" % (start, end))
    have = int(c.psql("SELECT count(*) FROM pg_sequences WHERE sequencename LIKE 's\\_%'"))
    if sequences > have:
        c.psql("DO $$ BEGIN FOR i IN %d..%d LOOP EXECUTE format('CREATE SEQUENCE s_%%s', i); "
               "PERFORM nextval(format('s_%%s', i)); END LOOP; END $$;" % (have + 1, sequences))
    c.psql('ANALYZE')
    return c.psql("SELECT (SELECT count(*) FROM pg_stat_user_tables) || ' tables, ' || "
                  "(SELECT count(*) FROM pg_stat_user_indexes) || ' indexes, ' || "
                  "(SELECT count(*) FROM pg_sequences) || ' sequences'")


def timed(fn, runs=RUNS):
    times = []
    result = None
    for dummy in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def module_in_process(c):
    params = dict((k, v.get('default')) for k, v in health_check.argument_spec().items())
    params.update(c.login())
    return timed(lambda: health_check.run(params))


def playbook(c, tmp, name, tasks, runs=3):
    inventory = os.path.join(tmp, 'hosts.yml')
    with open(inventory, 'w') as fh:
        yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': {'bench': {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
            'postgresql_port': c.port, 'postgresql_socket_dir': c.socket_dir, 'postgresql_admin_user': 'postgres',
            'postgresql_cluster_name': 'bench',
            'pgops_health_thresholds': {'disk_free_warning_pct': 1, 'disk_free_critical_pct': 0}}}}}}}, fh)
    path = os.path.join(ROOT, 'playbooks', 'daily.yml') if tasks is None else os.path.join(tmp, name + '.yml')
    if tasks is not None:
        with open(path, 'w') as fh:
            yaml.safe_dump([{'name': name, 'hosts': 'postgresql', 'gather_facts': False, 'tasks': tasks}], fh)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=os.path.join(tmp, 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, path]

    def run():
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise RuntimeError('%s failed: %s' % (name, proc.stdout[-2000:]))
    return timed(run, runs)[0]


def check_postgres(c):
    def run():
        failures = []
        for action, extra in CHECK_POSTGRES_ACTIONS:
            proc = subprocess.run(['check_postgres', '--action', action, '--host', c.socket_dir, '--port',
                                   str(c.port), '--dbuser', 'postgres', '--dbname', 'postgres'] + extra,
                                  capture_output=True, text=True, check=False)
            if proc.returncode == 3:  # UNKNOWN: the action itself did not work
                failures.append('%s: %s' % (action, proc.stdout.strip()[:200]))
        return failures
    return timed(run, 3)


def pg_sequences_read(c):
    """What reading every sequence through the pg_sequences view costs (the query before pg_sequence)."""
    conn = c.connect(autocommit=True)
    try:
        cur = conn.cursor()
        return timed(lambda: cur.execute('SELECT count(last_value) FROM pg_sequences') or cur.fetchone())[0]
    finally:
        conn.close()


def measure(c, tmp):
    in_process, result = module_in_process(c)
    as_module = timed(lambda: run_module('health_check', c.login()), 3)[0]
    cp_time, cp_failures = check_postgres(c)
    return {
        'module_in_process_s': round(in_process, 3),
        'module_process_s': round(as_module, 3),
        'round_trips': result['round_trips'],
        'pg_sequences_view_s': round(pg_sequences_read(c), 3),
        'module_duration_ms': result['duration_ms'],
        'check_postgres_s': round(cp_time, 3),
        'check_postgres_actions': len(CHECK_POSTGRES_ACTIONS),
        'check_postgres_unknown': cp_failures,
        'ratio_check_postgres_to_module': round(cp_time / in_process, 1),
    }


def main():
    c = PgCluster(settings={'autovacuum': 'off', 'max_locks_per_transaction': 256}).start()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for tables, sequences in ((1000, 100), (10000, 1000)):
                started = time.time()
                objects = build_objects(c, tables, sequences)
                print('built %s in %.0f s' % (objects, time.time() - started), flush=True)
                row = measure(c, tmp)
                row['objects'] = objects
                row['daily_playbook_s'] = round(playbook(c, tmp, 'daily', None), 2)
                row['bare_playbook_s'] = round(playbook(c, tmp, 'bare', [{'ansible.builtin.ping': None}]), 2)
                row['postgresql_info_playbook_s'] = round(playbook(c, tmp, 'info', [{
                    'community.postgresql.postgresql_info': {
                        'login_unix_socket': c.socket_dir, 'login_port': c.port, 'login_user': 'postgres'}}]), 2)
                results['%d tables' % tables] = row
                print(json.dumps(row, indent=2), flush=True)
    finally:
        c.destroy()
    out_dir = os.path.join(ROOT, 'build', 'bench')
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'health_check.json'), 'w') as fh:
        json.dump(results, fh, indent=2)
    print('\n| tables | module in process | module process | round trips | daily.yml | bare playbook | '
          'postgresql_info playbook | check_postgres (%d actions) | ratio |' % len(CHECK_POSTGRES_ACTIONS))
    print('|---|---|---|---|---|---|---|---|---|')
    for key, r in results.items():
        print('| %s | %.3f s | %.3f s | %d | %.2f s | %.2f s | %.2f s | %.2f s | %.1fx |' % (
            key, r['module_in_process_s'], r['module_process_s'], r['round_trips'], r['daily_playbook_s'],
            r['bare_playbook_s'], r['postgresql_info_playbook_s'], r['check_postgres_s'],
            r['ratio_check_postgres_to_module']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
