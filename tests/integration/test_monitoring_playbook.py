# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/monitoring.yml's controller side on an inventory of three hosts (a primary with two
pgbouncer instances, a standby, a host without monitoring): the rules carry the inventory's thresholds
and pass promtool, the file_sd targets name every exporter with its cluster, the scrape snippet is a
configuration promtool accepts, and the dashboard reads only metrics the exporters serve or the role's
queries define."""

import json
import os
import re
import shutil
import subprocess
import sys

import yaml

from tests.harness.pgcluster import COLLECTIONS, ROOT

PROMTOOL = shutil.which('promtool') or '/usr/bin/promtool'  # bindep.txt installs it: never skipped


def test_monitoring_files_from_the_inventory(tmp_path):
    common = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
              'pgops_monitoring_enabled': True}
    inv = {'all': {'children': {'postgresql': {
        'hosts': {
            'db1': dict(common, ansible_host='10.0.10.11', pgops_pooling_enabled=True,
                        pgbouncer_instances=[{'name': 'app', 'port': 6432}, {'name': 'admin', 'port': 6433}]),
            'db2': dict(common, ansible_host='10.0.10.12', postgresql_topology_role='standby',
                        postgresql_primary_host='db1', monitoring_listen_address='192.0.2.12'),
            'db3': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'vars': {'pgops_health_thresholds': {'connections_warning_pct': 60, 'connections_critical_pct': 85},
                 'pgops_pool_thresholds': {'maxwait_warning_s': 3}, 'pgops_alert_labels': {'team': 'dba'},
                 'pgops_monitoring_dir': str(tmp_path / 'monitoring')}}}}}
    (tmp_path / 'hosts.yml').write_text(yaml.safe_dump(inv))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i',
                           str(tmp_path / 'hosts.yml'), '--skip-tags', 'exporters',
                           os.path.join(ROOT, 'playbooks', 'monitoring.yml')],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    out = tmp_path / 'monitoring'
    assert 'Targets: 2 PostgreSQL, 2 pgbouncer' in proc.stdout
    pg = json.loads((out / 'targets' / 'postgresql.json').read_text())
    assert pg == [{'targets': ['10.0.10.11:9187'], 'labels': {'cluster': 'db1', 'pgops_host': 'db1'}},
                  {'targets': ['192.0.2.12:9187'], 'labels': {'cluster': 'db1', 'pgops_host': 'db2'}}]
    pools = json.loads((out / 'targets' / 'pgbouncer.json').read_text())
    assert [(p['targets'][0], p['labels']['pgbouncer_instance']) for p in pools] == [
        ('10.0.10.11:9127', 'app'), ('10.0.10.11:9128', 'admin')]
    rules = yaml.safe_load((out / 'rules' / 'pgops-alerts.yml').read_text())['groups'][0]['rules']
    by = dict(((r['alert'], r['labels']['severity']), r) for r in rules)
    assert by[('PostgreSQLConnections', 'critical')]['expr'].endswith('>= 85')
    assert by[('PgBouncerClientWait', 'warning')]['expr'].startswith('(pgbouncer_maxwait_seconds) >= 3 and')
    assert all(r['labels']['team'] == 'dba' for r in rules)
    # the snippet as a whole prometheus.yml: promtool reads the rule file and the target files it names
    check = subprocess.run([PROMTOOL, 'check', 'config', str(out / 'prometheus-scrape.yml')], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'SUCCESS' in check.stdout + check.stderr
    dashboard = json.loads((out / 'grafana' / 'pgops-postgresql.json').read_text())
    ids = [p['id'] for p in dashboard['panels']]
    assert len(ids) == len(set(ids)) and dashboard['uid'] == 'pgops-postgresql'
    assert (out / 'grafana' / 'provisioning-dashboards.yml').exists()


def test_the_dashboard_reads_known_metrics():
    files = os.path.join(ROOT, 'roles', 'monitoring', 'files')
    queries = yaml.safe_load(open(os.path.join(files, 'pgops-queries.yaml')))
    known = set('%s_%s' % (q, list(m)[0]) for q, spec in queries.items() for m in spec['metrics'])
    known |= set(re.findall(r"'(pgbouncer_[a-z_]+)'", open(os.path.join(files, 'pgops_pgbouncer_exporter.py')).read()))
    known |= {'pgbouncer_%s' % n for n in ('active_clients', 'waiting_clients', 'server_connections', 'maxwait_seconds')}
    # prometheus-postgres-exporter 0.11's own metrics the panels read
    known |= {'pg_up', 'pg_database_size_bytes', 'pg_locks_count', 'pg_stat_archiver_last_archive_age',
              'pg_stat_archiver_failed_count'}
    dashboard = json.load(open(os.path.join(files, 'grafana', 'pgops-postgresql.json')))
    for panel in dashboard['panels']:
        for target in panel.get('targets', []):
            used = set(re.findall(r'\b((?:pg|pgops|pgbouncer)_[a-z_]+)\b', target['expr']))
            used = {u for u in used if not u.startswith(('pg_stat_database_', 'pg_stat_bgwriter_'))}
            assert used <= known, (panel['title'], used - known)
