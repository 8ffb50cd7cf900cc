# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/daily.yml for real: three inventory hosts on this machine (a healthy
cluster, a cluster with a critical finding, and a cluster that is down)."""

import json
import os
import subprocess
import sys

import yaml

from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster, free_port
from tests.integration.conftest import RELAXED_DISK


def host(socket_dir, port, name, log_file=None):
    values = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
              'postgresql_cluster_name': name, 'postgresql_port': port, 'postgresql_socket_dir': socket_dir,
              'postgresql_admin_user': 'postgres'}
    if log_file:  # the harness's servers log to stderr (logging_collector off): the file is named
        values['pgops_log_files'] = [log_file]
    return values


def play(tmp_path, hosts, extra=None):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': hosts}},
                                                 'vars': {'pgops_health_thresholds': RELAXED_DISK}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
            os.path.join(ROOT, 'playbooks', 'daily.yml')]
    for key, value in (extra or {}).items():
        argv += ['-e', '%s=%s' % (key, value)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    latest = tmp_path / 'reports' / 'daily' / 'latest.txt'
    run_dir = os.path.dirname(latest.read_text().strip()) if latest.exists() else None
    return proc, run_dir


def test_daily_fleet_run(fresh_cluster, tmp_path):
    cluster = fresh_cluster  # healthy by construction: the shared cluster carries what other tests planted
    sick = PgCluster(settings={'autovacuum': 'off'}).start()
    try:
        sick.psql("CREATE SEQUENCE s MAXVALUE 100; SELECT setval('s', 99);")
        hosts = {'db-healthy': host(cluster.socket_dir, cluster.port, 'healthy', cluster.log_file),
                 'db-sick': host(sick.socket_dir, sick.port, 'sick', sick.log_file),
                 'db-down': host(str(tmp_path), free_port(), 'down'),
                 # SSH to a port nobody listens on: unreachable from the first task
                 'db-gone': dict(host(str(tmp_path), free_port(), 'gone'), ansible_connection='ssh',
                                 ansible_host='127.0.0.1', ansible_port=free_port(),
                                 ansible_ssh_common_args='-o ConnectTimeout=3 -o StrictHostKeyChecking=no')}
        proc, run_dir = play(tmp_path, hosts)
    finally:
        sick.destroy()
    assert proc.returncode in (2, 4), proc.stdout[-3000:]
    recap = dict((line.split()[0], line) for line in proc.stdout.splitlines() if line.startswith('db-') and 'ok=' in line)
    assert 'failed=0' in recap['db-healthy'] and 'unreachable=1' in recap['db-gone']
    # the reports are files on the controller: no database host changed
    assert all('changed=0' in line for line in recap.values()), recap
    fleet = json.load(open(os.path.join(run_dir, 'fleet-summary.json')))
    assert fleet['summary']['hosts'] == 4
    assert fleet['summary']['failing_hosts'] == ['db-down', 'db-gone', 'db-sick']
    by_host = {h['host']: h for h in fleet['hosts']}
    assert [f['id'] for f in by_host['db-down']['findings']] == ['health.server_up']
    gone = by_host['db-gone']['findings']
    assert [(f['id'], f['severity']) for f in gone] == [('report.no_result', 'critical')]
    assert 'unreachable' in gone[0]['observed']
    assert ('health.sequences', 'critical') in [(f['id'], f['severity']) for f in by_host['db-sick']['findings']]
    assert by_host['db-healthy']['summary']['critical'] == 0
    # the server log was reviewed (the harness logs to a file it names) and where it stopped is kept
    assert ('log.fatal', 'ok') in [(f['id'], f['severity']) for f in by_host['db-healthy']['findings']]
    assert json.loads((tmp_path / 'reports' / 'daily-logs' / 'db-healthy.json').read_text())['next_cursor']
    for name in ('db-healthy', 'db-sick', 'db-down', 'fleet-summary'):  # db-gone has no file of its own
        for ext in ('json', 'md', 'html'):
            assert os.path.getsize(os.path.join(run_dir, '%s.%s' % (name, ext))) > 0
    assert 'health.sequences on postgres.public.s' in proc.stdout


def test_daily_passes_on_a_healthy_fleet_and_fail_on_is_configurable(fresh_cluster, tmp_path):
    cluster = fresh_cluster
    hosts = {'db-healthy': host(cluster.socket_dir, cluster.port, 'healthy')}
    proc, run_dir = play(tmp_path, hosts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert json.load(open(os.path.join(run_dir, 'fleet-summary.json')))['summary']['failing_hosts'] == []
    # the freshly started test cluster has an info finding (recent restart): fail_on=info turns it red
    proc, run_dir = play(tmp_path, hosts, {'pgops_daily_fail_on': 'info'})
    assert proc.returncode == 2
    assert 'health.uptime on server' in proc.stdout


def test_a_bad_fail_on_is_refused_before_any_check(cluster, tmp_path):
    hosts = {'db-healthy': host(cluster.socket_dir, cluster.port, 'healthy')}
    proc, run_dir = play(tmp_path, hosts, {'pgops_daily_fail_on': 'severe'})
    assert proc.returncode == 2
    assert 'pgops_daily_fail_on must be info, warning or critical, not severe' in proc.stdout
    assert 'Check the health of the cluster' not in proc.stdout


def test_a_failing_daily_run_notifies_once(tmp_path):
    """One grouped message to the webhook and one e-mail for the failing run; the same run again sends none."""
    from tests.harness.sinks import HttpSink, SmtpSink
    sick = PgCluster(settings={'autovacuum': 'off'}).start()
    http, smtp = HttpSink(), SmtpSink()
    try:
        sick.psql("CREATE SEQUENCE s MAXVALUE 100; SELECT setval('s', 99);")
        hosts = {'db-sick': dict(host(sick.socket_dir, sick.port, 'sick', sick.log_file), pgops_notify_channels=[
            {'type': 'webhook', 'url': http.url},
            {'type': 'email', 'host': '127.0.0.1', 'port': smtp.port, 'sender': 'pgops@example.com',
             'to': ['dba@example.com']}])}
        proc, run_dir = play(tmp_path, hosts)
        assert proc.returncode == 2, proc.stdout[-3000:]
        assert len(http.bodies) == 1 and len(smtp.messages) == 1, proc.stdout[-3000:]
        assert ('db-sick', 'health.sequences') in [(f['host'], f['id']) for f in http.bodies[0]['findings']]
        assert 'db-sick: 1 critical' in http.bodies[0]['text']
        proc, run_dir = play(tmp_path, hosts)
        assert proc.returncode == 2 and len(http.bodies) == 1 and len(smtp.messages) == 1
    finally:
        sick.destroy()
        http.close()
        smtp.close()
