# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/quarterly.yml for real, two quarters in a row: reports, JUnit, and what changed."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster


def run(tmp_path, c, quarter, waivers):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': {'db1': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'ansible_host': '127.0.0.1',
        'postgresql_port': c.port, 'postgresql_socket_dir': c.socket_dir, 'postgresql_admin_user': 'postgres',
        'pgops_audit_waivers': waivers}}}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           os.path.join(ROOT, 'playbooks', 'quarterly.yml'), '-e', 'pgops_quarter_override=' + quarter],
                          capture_output=True, text=True, env=env, check=False)
    return proc, tmp_path / 'reports' / 'quarterly' / quarter


def test_two_quarters(tmp_path):
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    try:
        c.psql("CREATE ROLE ops NOLOGIN; GRANT pg_read_server_files TO ops; CREATE TABLE t (i int);"
               "GRANT SELECT ON t TO PUBLIC;")
        # the harness cluster has ssl off and fsync off (critical, seen from inside and from outside): waive them
        waivers = [{'id': 'sec.settings.fsync', 'reason': 'throwaway test cluster', 'expires': '2099-01-01'},
                   {'id': 'sec.ssl.enabled', 'reason': 'throwaway test cluster', 'expires': '2099-01-01'},
                   {'id': 'outside.tls_offered', 'reason': 'throwaway test cluster', 'expires': '2099-01-01'}]
        proc, first = run(tmp_path, c, '2026-Q3', waivers)
        assert proc.returncode == 0, proc.stdout[-3000:]
        fleet = json.load(open(first / 'fleet-summary.json'))
        assert 'changes' not in fleet
        ids = set(f['id'] for f in fleet['hosts'][0]['findings'])
        assert 'role.risky_predefined_member' in ids and 'sec.auth.hba_trust' in ids
        # the look from outside, from the controller at the host's address: no TLS, a password asked for in the clear
        outside = dict((f['id'], f['severity']) for f in fleet['hosts'][0]['findings'] if f['id'].startswith('outside.'))
        assert outside['outside.tls_offered'] == 'critical' and outside['outside.password_before_tls'] == 'warning'
        assert outside['outside.reachable'] == 'ok'
        suite = ET.parse(str(first / 'db1.xml')).getroot().find('testsuite')
        assert int(suite.get('failures')) > 0 and int(suite.get('skipped')) == 3
        assert 'scores' in fleet['hosts'][0]

        # next quarter: one problem fixed, one new, and the failure threshold is hit
        c.psql("REVOKE pg_read_server_files FROM ops; REVOKE SELECT ON t FROM PUBLIC;"
               "CREATE ROLE dba SUPERUSER NOLOGIN; CREATE ROLE eve LOGIN; GRANT dba TO eve;")
        proc, second = run(tmp_path, c, '2026-Q4', waivers)
    finally:
        c.destroy()
    assert proc.returncode == 2
    assert 'role.escalation_path on eve' in proc.stdout
    changes = json.load(open(second / 'fleet-summary.json'))['changes']
    new = [(r['id'], r['object']) for r in changes['new']]
    fixed = [(r['id'], r['object']) for r in changes['fixed']]
    assert ('role.escalation_path', 'eve') in new
    assert ('role.risky_predefined_member', 'ops') in fixed and ('role.public_grant', 'postgres: table public.t') in fixed
    assert changes['still_open']
    assert 'Since the previous report' in open(second / 'fleet-summary.html').read()
