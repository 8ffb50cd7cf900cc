# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/sla_report.yml over a month of reports on the controller: the daily reports carry a
real health check's metrics (a primary and its standby) with a day the primary was down and a
restart, two days the archiver failed, a day without a run and a day the hosts were unreachable;
three restore tests (fast, slow, failed) and a DR drill. Each objective missed is named with the
findings behind it, a cluster without objectives says so, the page draws a plot per objective
offline, and one grouped message reaches the webhook."""

import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.harness import history
from tests.harness.browser import open_page
from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster, run_module
from tests.harness.sinks import HttpSink

MONTH = '2026-11'


@pytest.fixture(scope='module')
def metrics():
    c = PgCluster().start()
    try:
        yield run_module('health_check', c.login())['metrics']
    finally:
        c.destroy()


def ok(fid):
    return {'id': fid, 'severity': 'ok', 'object': 'server', 'waived': False}


def daily(base, day, primary=True, down=False, started='2026-10-20 03:00:00+00', archiver_failing_since=None):
    m = copy.deepcopy(base)
    m.update(archive_mode='on', in_recovery=not primary, reachable=not down, started_at=started)
    m['archiver'] = {'last_archived_time': archiver_failing_since or '%s 05:59:00+00' % day,
                     'failing': bool(archiver_failing_since)}
    m['backup'] = {'count': 3, 'newest_stop': 1790000000, 'newest_type': 'incr'}
    findings = [ok('health.server_up'), ok('health.archiver')]
    if down:
        findings[0] = {'id': 'health.server_up', 'severity': 'critical', 'object': 'server', 'waived': False,
                       'observed': 'connection refused on port 5432'}
    if archiver_failing_since:
        findings[1] = {'id': 'health.archiver', 'severity': 'critical', 'object': 'server', 'waived': False,
                       'observed': 'archive_command failing since %s' % archiver_failing_since}
    return {'metrics': m, 'findings': findings}


def month_of_reports(root, base):
    for n in range(1, 31):
        day = '%s-%02d' % (MONTH, n)
        if day == '2026-11-25':
            continue                      # no run at all: unknown
        if day == '2026-11-26':
            history.write_run(root, 'daily', day, {'db1': {'msg': 'UNREACHABLE'}, 'db2': {'msg': 'UNREACHABLE'}})
            continue
        started = '2026-10-20 03:00:00+00' if n < 14 else '2026-11-14 09:30:00+00'
        failing = '2026-11-19 23:00:00+00' if day in ('2026-11-20', '2026-11-21') else None
        history.write_run(root, 'daily', day, {
            'db1': daily(base, day, down=(n == 14), started=started, archiver_failing_since=failing),
            'db2': daily(base, day, primary=False)})
    # billing (db3): three daily reports only, in a directory of its own run
    for n in (27, 28, 29):
        day = '%s-%02d' % (MONTH, n)
        path = os.path.join(root, 'daily', day, 'fleet-summary.json')
        data = json.load(open(path))
        data['hosts'].append(dict(daily(base, day), host='db3'))
        json.dump(data, open(path, 'w'))
    for day, rto, failed in (('2026-11-07', 120.0, False), ('2026-11-14', 1500.0, False), ('2026-11-21', None, True)):
        result = {'metrics': {'timings': {'rto': rto} if rto else {}},
                  'findings': [{'id': 'restore_test.result', 'severity': 'critical' if failed else 'ok',
                                'object': 'orders', 'observed': 'pgbackrest restore failed: no backup' if failed
                                else 'RTO %.0f s' % rto, 'waived': False}]}
        history.write_run(root, 'restore_test', day, {'db1': result})
    os.makedirs(os.path.join(root, 'dr_drill'))
    with open(os.path.join(root, 'dr_drill', 'history.jsonl'), 'w') as fh:
        november = {'date': '2026-11-28T10:00:00Z', 'cluster': 'db1,db2', 'scenarios': [
            {'old_primary': 'db1', 'new_primary': 'db2', 'rto_seconds': '4.2', 'rpo_transactions': '0',
             'rpo_seconds': '0.0', 'passed': 'True'}]}
        october = {'date': '2026-10-28T10:00:00Z', 'cluster': 'db1,db2', 'scenarios': [
            {'rto_seconds': '99', 'rpo_transactions': '5', 'passed': 'False'}]}
        for record in (november, october):
            fh.write(json.dumps(record) + '\n')


def play(tmp_path, extra_vars, playbook='sla_report.yml'):
    hosts = {
        'db1': {'pgops_cluster': 'orders', 'pgops_sla_availability_pct': 99.9, 'pgops_sla_rpo_seconds': 300,
                'pgops_sla_rto_seconds': 900},
        'db2': {'postgresql_topology_role': 'standby', 'postgresql_primary_host': 'db1', 'pgops_cluster': 'orders'},
        'db3': {'pgops_cluster': 'billing'},
    }
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': hosts, 'vars': extra_vars}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
            '-e', 'pgops_sla_month=%s' % MONTH, os.path.join(ROOT, 'playbooks', playbook)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)


def test_a_month_of_reports_against_the_objectives(tmp_path, metrics):
    root = str(tmp_path / 'reports')
    month_of_reports(root, metrics)
    sink = HttpSink()
    try:
        proc = play(tmp_path, {'pgops_notify_channels': [{'type': 'webhook', 'url': sink.url}]})
        bodies = list(sink.bodies)
    finally:
        sink.close()
    out = proc.stdout + proc.stderr
    # objectives were missed: the run fails, after writing the report
    assert proc.returncode == 2 and 'Missed in 2026-11: orders' in out, out
    report = json.load(open(os.path.join(root, 'sla', MONTH, 'sla.json')))
    by = dict((h['host'], h) for h in report['hosts'])
    orders = by['orders']
    raised = sorted((f['id'], f['severity']) for f in orders['findings'] if f['severity'] != 'ok')
    assert raised == [('sla.availability', 'critical'), ('sla.rpo', 'critical'), ('sla.rto', 'critical')], raised
    m = orders['metrics']
    # 30 days: one without a run, one the hosts were unreachable (unknown), 27 up and 1 down
    assert (m['up_runs'], m['down_runs'], m['unknown_runs']) == (27, 1, 1), m
    assert m['availability_pct'] == pytest.approx(100.0 * 27 / 28, abs=0.001)
    assert m['coverage_pct'] == pytest.approx(93.3, abs=0.1)
    assert [r['started_at'] for r in m['restarts']] == ['2026-11-14 09:30:00+00']
    # proven up: from Nov 1 to the last answer, less the gap between the 13th's check and the restart
    assert 90 < m['proven_up_pct'] < 97, m['proven_up_pct']
    assert m['worst_rpo']['date'] == '2026-11-21' and m['worst_rpo']['seconds'] == 31 * 3600
    f = dict((f['id'], f) for f in orders['findings'])
    assert '96.429%' in f['sla.availability']['observed'] and '2026-11-14' in f['sla.availability']['observed']
    assert '1.3 d at risk on 2026-11-21' in f['sla.rpo']['observed'], f['sla.rpo']
    assert f['sla.rto']['observed'] == ('1 of 3 restore test(s) failed (2026-11-21), 1 took longer than the objective '
                                        '(2026-11-14); the slowest took 25.0 min'), f['sla.rto']
    # the findings behind each miss
    behind = sorted((b['objective'], b['date'], b['id']) for b in m['breaches'])
    assert behind == [('availability', '2026-11-14', 'health.server_up'),
                      ('rpo', '2026-11-20', 'health.archiver'), ('rpo', '2026-11-21', 'health.archiver'),
                      ('rto', '2026-11-21', 'restore_test.result')], behind
    # the drill of November passed; October's failed drill is not this month's
    assert [d['date'] for d in m['drills']] == ['2026-11-28'] and f['sla.drill']['severity'] == 'ok'
    # billing: no objectives, three daily reports, no restore test, no drill
    billing = sorted((f['id'], f['severity']) for f in by['billing']['findings'] if f['severity'] != 'ok')
    assert billing == [('sla.coverage', 'warning'), ('sla.drill', 'info'), ('sla.objectives', 'warning'),
                       ('sla.rto', 'warning')], billing
    # one grouped message with the missed objectives
    assert len(bodies) == 1 and 'sla.availability' in json.dumps(bodies[0]), bodies
    # the page: a plot per objective, nothing loaded from anywhere
    page = open_page(os.path.join(root, 'sla', MONTH, 'sla.html'))
    assert page['requests'] == []
    for title in ('orders: availability in 2026-11', 'orders: RPO, data at risk', 'orders: RTO measured'):
        assert title in page['dom'], title
    assert (tmp_path / 'reports' / 'sla' / 'latest.txt').read_text().strip().endswith('sla/2026-11/sla.html')


def test_bad_options_are_refused_before_anything_is_read(tmp_path):
    proc = play(tmp_path, {'pgops_sla_fail_on': 'sometimes'})
    assert proc.returncode == 2 and 'pgops_sla_fail_on must be info, warning or critical' in proc.stdout, proc.stdout
    with pytest.raises(Exception) as err:
        run_module('sla', {'report_dir': str(tmp_path), 'month': '2026-13', 'clusters': [{'name': 'a', 'hosts': ['x']}]})
    assert "parameter 'month'" in str(err.value.result['msg'])
    with pytest.raises(Exception) as err:
        run_module('sla', {'report_dir': str(tmp_path), 'month': '2026-11',
                           'clusters': [{'name': 'a', 'hosts': ['x'], 'availability_pct': 120}]})
    assert 'clusters[0].availability_pct' in err.value.result['msg']
