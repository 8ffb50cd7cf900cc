# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/monthly.yml for real: a primary with planted index problems and a streaming standby
that scans one index the primary never does; the index review runs on the primary with the
standby's usage (that index is not called unused), the security audit runs on both, and a second
month's run is compared with the first."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.harness import history
from tests.harness.browser import open_page
from tests.harness.pgcluster import COLLECTIONS, ROOT, run_module, wait_for
from tests.harness.planted import plant_index_problems
from tests.harness.replication import ReplicaSet

TH = {'unused_min_bytes': 1024 * 1024, 'unused_min_stats_days': 0}
LOOKUPS = ';'.join("SELECT count(*) FROM bloated WHERE v = md5('%d')" % i for i in range(100))


def node(cluster, name, **extra):
    values = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
              'postgresql_version': '15', 'postgresql_bin_dir': cluster.bin_dir, 'postgresql_cluster_name': name,
              'postgresql_port': cluster.port, 'postgresql_socket_dir': cluster.socket_dir,
              'postgresql_admin_user': 'postgres', 'pgops_index_review_databases': ['idx'],
              'pgops_index_review_thresholds': TH,
              # the lookups' sequential scans take 1 to 2 ms here: the default floor of 1 ms made the
              # regression depend on the machine's speed
              'pgops_performance_thresholds': {'regression_min_mean_ms': 0.1}}
    values.update(extra)
    return values


def play(tmp_path, hosts, month):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': hosts}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
            '-e', 'pgops_month_override=%s' % month, os.path.join(ROOT, 'playbooks', 'monthly.yml')]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    return proc, tmp_path / 'reports' / 'monthly' / month


@pytest.fixture(scope='module')
def pair():
    rs = ReplicaSet(standbys=1, settings={'shared_preload_libraries': 'pg_stat_statements'})
    primary, standby = rs.nodes['n1'], rs.nodes['n2']
    primary.psql('CREATE EXTENSION pg_stat_statements')
    primary.psql('CREATE DATABASE idx')
    plant_index_problems(primary, 'idx')
    # a statement that uses an index this month, and regresses next month (the index is dropped)
    primary.psql(LOOKUPS, db='idx')
    # the standby has the objects once it replayed the primary's current position
    lsn = primary.psql('SELECT pg_current_wal_lsn()')
    assert wait_for(lambda: standby.psql("SELECT pg_last_wal_replay_lsn() >= '%s'" % lsn) == 't', 30)
    standby.psql("SET enable_seqscan = off; SET enable_bitmapscan = off;"
                 "SELECT count(*) FROM big WHERE note = md5('7')", db='idx')
    assert wait_for(lambda: standby.psql(
        "SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 'big_note'", db='idx') == 't', 10)
    yield rs
    rs.destroy()


def host_findings(run_dir, host):
    return json.load(open(os.path.join(str(run_dir), '%s.json' % host)))['hosts'][0]['findings']


def test_monthly_review_with_a_standby(pair, tmp_path):
    primary, standby = pair.nodes['n1'], pair.nodes['n2']
    hosts = {'db1': node(primary, 'p'),
             'db2': node(standby, 's', postgresql_topology_role='standby', postgresql_primary_host='db1')}
    # three weeks of daily reports of db1 (its real metrics; the table big grew from 19 to 39 MB)
    metrics = run_module('health_check', primary.login())['metrics']
    used = metrics['disk'][0]['total_bytes'] - metrics['disk'][0]['free_bytes']
    history.write(str(tmp_path / 'reports' / 'daily'), 'db1', metrics, 21, lambda age: used - age * 1024,
                  table=('idx', 'public', 'big'), table_bytes=lambda age: 40e6 - age * 1e6)
    proc, run_dir = play(tmp_path, hosts, '2026-11')
    assert 'db1' in proc.stdout, proc.stdout + proc.stderr
    assert (run_dir / 'fleet-summary.json').exists(), proc.stdout + proc.stderr
    primary_findings = host_findings(run_dir, 'db1')
    index = sorted((f['id'], f['object']) for f in primary_findings
                   if f['id'].startswith('index.') and f['severity'] in ('warning', 'critical'))
    # big_note is scanned on the standby only: not unused
    assert index == sorted([
        ('index.redundant', 'idx.public.big_a'),
        ('index.redundant', 'idx.public.big_b2'),
        ('index.invalid', 'idx.public.fixable_k'),
        ('index.bloated', 'idx.public.bloated_v'),
        ('index.fk_unindexed', 'idx.public.child'),
        ('index.seq_scan_heavy', 'idx.public.scanned'),
    ]), primary_findings
    # the security audit ran on both; the standby's index usage served the primary, no review of its own
    assert any(f['id'].startswith('sec.') for f in primary_findings)
    standby_findings = host_findings(run_dir, 'db2')
    assert any(f['id'].startswith('sec.') for f in standby_findings)
    assert not any(f['id'].startswith('index.') for f in standby_findings), standby_findings
    assert (tmp_path / 'reports' / 'monthly' / 'latest.txt').read_text().strip() == \
        str(run_dir / 'fleet-summary.html')
    # the service levels of the month before ran first: one cluster (db1 with its standby), no objectives set
    sla = json.load(open(str(tmp_path / 'reports' / 'sla' / '2026-10' / 'sla.json')))
    assert [h['host'] for h in sla['hosts']] == ['db1'], sla
    assert ('sla.objectives', 'warning') in [(f['id'], f['severity']) for f in sla['hosts'][0]['findings']]

    # capacity: the growing table, no forecast inside the thresholds; db2 has no history yet
    capacity = sorted((f['id'], f['severity'], f['object']) for f in primary_findings
                      if f['id'].startswith('capacity.') and f['severity'] != 'ok')
    assert capacity == [('capacity.table_growth', 'info', 'idx.public.big')], capacity
    assert ('capacity.history', 'info') in [(f['id'], f['severity']) for f in standby_findings]
    # the host's page: offline, with the forecast, the top statements and the index bloat drawn
    page = open_page(str(run_dir / 'db1.html'))
    assert page['requests'] == []
    titles = [t for t in ('used and forecast', 'Top statements by total time', 'Index bloat') if t in page['dom']]
    assert len(titles) == 3 and page['dom'].count('<svg') >= 4, page['dom'][-3000:]

    # the schema documentation ran too (its findings never stop the review), on the primary only
    schema = tmp_path / 'reports' / 'schema'
    assert (schema / 'site' / 'db1' / 'idx' / 'public' / 'big.html').exists(), proc.stdout[-3000:]
    assert not (schema / 'site' / 'db2').exists() and (schema / 'history' / 'db1').is_dir()

    # the performance review ran on both, and its snapshot is kept for next month
    assert [f['severity'] for f in primary_findings if f['id'] == 'perf.unavailable'] == ['ok']
    snapshot = json.loads((tmp_path / 'reports' / 'monthly' / 'statements' / 'db1.json').read_text())
    assert snapshot['statements'] and snapshot['taken_at'].endswith('Z')

    # next month: the lookup's index is gone, the lookup regresses; without the standby in the play,
    # big_note is unused on the primary
    primary.psql('DROP INDEX bloated_v', db='idx')
    primary.psql(LOOKUPS, db='idx')
    proc, alone = play(tmp_path, {'db1': hosts['db1']}, '2026-12')
    month2 = host_findings(alone, 'db1')
    ids = [(f['id'], f['object']) for f in month2]
    assert ('index.unused', 'idx.public.big_note') in ids, proc.stdout
    regressed = [f for f in month2 if f['id'] == 'perf.regression']
    assert len(regressed) == 1 and 'FROM bloated WHERE v' in regressed[0]['observed'], regressed
    assert ' over 100 calls' in regressed[0]['observed']
    # and the fleet report is compared with last month's
    fleet = json.load(open(str(alone / 'fleet-summary.json')))
    changes = fleet['changes']
    new = [(r['host'], r['id'], r['object']) for r in changes['new']]
    assert ('db1', 'index.unused', 'idx.public.big_note') in new, changes
    assert any(f['id'].startswith('sec.') for f in changes['still_open']), changes
    assert 'perf.review_failed' not in [f['id'] for f in host_findings(alone, 'db1')]


def test_a_healthy_cluster_raises_nothing_at_warning_in_the_reviews(tmp_path):
    """Tables with keys and indexed foreign keys, statements that use them: the index review, the
    performance review and the capacity forecast raise nothing at warning or above (the security
    audit is proven on a hardened cluster by molecule's secure scenario; harness clusters are not)."""
    from tests.harness.pgcluster import PgCluster
    c = PgCluster(settings={'shared_preload_libraries': 'pg_stat_statements'}).start()
    try:
        c.psql('CREATE EXTENSION pg_stat_statements')
        c.psql('CREATE DATABASE idx')
        c.psql("CREATE TABLE customers (id int PRIMARY KEY, name text UNIQUE);"
               "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id));"
               "CREATE INDEX orders_customer_id ON orders (customer_id);"
               "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 1000) g;"
               "INSERT INTO orders SELECT g, 1 + g % 1000 FROM generate_series(1, 5000) g; ANALYZE", db='idx')
        c.psql(';'.join('SELECT count(*) FROM orders WHERE customer_id = %d' % i for i in range(50)), db='idx')
        metrics = run_module('health_check', c.login())['metrics']
        used = metrics['disk'][0]['total_bytes'] - metrics['disk'][0]['free_bytes']
        history.write(str(tmp_path / 'reports' / 'daily'), 'db1', metrics, 10, lambda age: used)
        proc, run_dir = play(tmp_path, {'db1': node(c, 'healthy')}, '2026-11')
        found = host_findings(run_dir, 'db1')
        raised = [(f['id'], f['object']) for f in found if f['severity'] in ('warning', 'critical')
                  and f['id'].split('.')[0] in ('index', 'perf', 'capacity')]
        assert raised == [], raised
        assert set(f['id'].split('.')[0] for f in found) >= {'index', 'perf', 'capacity', 'sec'}, proc.stdout[-2000:]
    finally:
        c.destroy()
