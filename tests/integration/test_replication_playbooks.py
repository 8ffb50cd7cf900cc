# SPDX-License-Identifier: GPL-3.0-or-later
"""The replication playbooks for real, on inventories of clusters on this machine: dr_drill.yml on a
drill inventory (kills the primary, fails over, rejoins it, appends its record to the history),
failover.yml then rejoin.yml after a crash of the primary, and switchover.yml with a pgbouncer in
front: a writer going through it sees no error, only a wait, and a refused switchover lets it go on."""

import json
import os
import subprocess
import sys

import yaml

from tests.harness.pgbouncer import PgBouncer
from tests.harness.pgcluster import COLLECTIONS, ROOT, run_module
from tests.harness.sinks import HttpSink
from tests.integration.test_failover_module import kill9_postmaster
from tests.harness.replication import REPLICATION_PASSWORD, ReplicaSet


def inventory(rs, drill=True):
    hosts = {}
    for name, c in rs.nodes.items():
        hosts[name] = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                       'postgresql_port': c.port, 'postgresql_socket_dir': c.socket_dir,
                       'postgresql_data_dir': c.data_dir, 'postgresql_service_manager': 'pg_ctl',
                       'postgresql_admin_user': 'postgres', 'pgops_replication_address': '127.0.0.1'}
        if drill:
            hosts[name]['pgops_drill_inventory'] = True
    return {'all': {'children': {'postgresql': {'hosts': hosts}},
                    'vars': {'standby_replication_password': REPLICATION_PASSWORD, 'standby_ca_cert': rs.ca_file}}}


def play(tmp_path, inv, extra=None, playbook='dr_drill.yml'):
    path = tmp_path / 'hosts.yml'
    path.write_text(yaml.safe_dump(inv))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(path),
            os.path.join(ROOT, 'playbooks', playbook)]
    for key, value in (extra or {}).items():
        argv += ['-e', '%s=%s' % (key, value)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)


def test_drill_refuses_without_the_drill_flag_and_the_confirmation(tmp_path):
    rs = ReplicaSet(standbys=1)
    try:
        proc = play(tmp_path, inventory(rs, drill=False), {'pgops_drill_confirm': 'n1'})
        assert proc.returncode != 0 and 'pgops_drill_inventory: true' in proc.stdout
        proc = play(tmp_path, inventory(rs))
        assert proc.returncode != 0 and 'pgops_drill_confirm=n1' in proc.stdout
        assert rs.role('n1') == 'primary' and rs.role('n2') == 'standby'
    finally:
        rs.destroy()


def test_drill_with_synchronous_replication_passes_and_keeps_a_history(tmp_path):
    rs = ReplicaSet(standbys=1, synchronous='n1, n2')
    try:
        proc = play(tmp_path, inventory(rs), {'pgops_drill_confirm': 'n1', 'pgops_drill_warmup_seconds': 2})
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert rs.role('n2') == 'primary' and rs.role('n1') == 'standby'
        assert rs.upstream_port('n1') == str(rs.nodes['n2'].port)
        lines = (tmp_path / 'reports' / 'dr_drill' / 'history.jsonl').read_text().splitlines()
        record = json.loads(lines[-1])
        failover = record['scenarios'][0]
        assert failover['old_primary'] == 'n1' and failover['new_primary'] == 'n2'
        assert int(failover['rpo_transactions']) == 0 and int(failover['acknowledged']) > 20
        assert str(failover['passed']) == 'True' and float(failover['rto_seconds']) > 0
        assert failover['rejoin']['crash_recovery'] is True
        assert record['pitr'].startswith('not rehearsed')
        assert '| failover |' in (tmp_path / 'reports' / 'dr_drill' / 'history.md').read_text()

        # the DR plan of the cluster as it is now (n2 primary), with this drill's figures in it
        inv = inventory(rs, drill=False)
        hosts = inv['all']['children']['postgresql']['hosts']
        hosts['n1'].update(postgresql_topology_role='standby', postgresql_primary_host='n2', standby_synchronous=True)
        inv['all']['vars'].update(pgops_sla_rto_seconds=30, pgops_sla_rpo_seconds=0,
                                  pgops_dr_contacts=[{'role': 'on call', 'name': 'Ops rota', 'phone': '+44 20 0000 0000'}])
        proc = play(tmp_path, inv, {'pgops_dr_fail_run': 'false'}, playbook='dr_plan.yml')
        assert proc.returncode == 0, proc.stdout[-4000:]
        plan = json.load(open(tmp_path / 'reports' / 'dr_plan' / 'dr-plan.json'))
        p = plan['plans']['n2']
        assert [h['name'] for h in p['hosts']] == ['n1', 'n2'] and p['primary'] == 'n2'
        assert p['measured']['drill_rto_seconds'] == float(failover['rto_seconds'])
        assert p['measured']['drill_rpo_transactions'] == 0 and p['measured']['drill_date'] == record['date'][:10]
        assert p['scenarios']['primary_lost']['rehearsed']['age_days'] == 0
        steps = [c for dummy, c in p['scenarios']['primary_lost']['steps'] if c]
        assert any('failover.yml -e pgops_hosts=n1,n2 -e pgops_failover_confirm=n1' in c for c in steps)
        ids = sorted(set((f['id'], f['severity']) for f in plan['clusters']['n2']['findings'] if f['severity'] != 'ok'))
        assert ids == [('dr.backup_location', 'critical'), ('dr.rehearsed', 'warning'),
                       ('dr.standby_elsewhere', 'critical')], ids
        markdown = (tmp_path / 'reports' / 'dr_plan' / 'dr-plan.md').read_text()
        assert '| Recovery time, failover (drill) | 30.0 s | %.1f s |' % float(failover['rto_seconds']) in markdown
    finally:
        rs.destroy()


def test_failover_then_rejoin_playbooks_after_a_crash(tmp_path):
    rs = ReplicaSet(standbys=2)
    sink = HttpSink()
    bouncer = PgBouncer(rs.nodes['n1'], pool_size=4, pool_mode='transaction')
    try:
        inv = pooled(inventory(rs), bouncer)
        inv['all']['vars']['pgops_notify_channels'] = [{'type': 'webhook', 'url': sink.url}]
        kill9_postmaster(rs.nodes['n1'])
        proc = play(tmp_path, inv, playbook='failover.yml')
        assert proc.returncode != 0 and 'pgops_failover_confirm=most-advanced' in proc.stdout
        assert rs.role('n2') == 'standby' and rs.role('n3') == 'standby'
        # a refusal before anything is decided is the operator's, told on the console only
        assert sink.bodies == []
        # the crashed primary as the candidate: the module refuses, people are told the failover failed
        proc = play(tmp_path, inv, {'pgops_failover_confirm': 'n1'}, playbook='failover.yml')
        assert proc.returncode != 0 and rs.role('n2') == 'standby' and rs.role('n3') == 'standby'
        assert len(sink.bodies) == 1 and 'The failover failed' in json.dumps(sink.bodies[0]), sink.bodies
        proc = play(tmp_path, inv, {'pgops_failover_confirm': 'most-advanced'}, playbook='failover.yml')
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert 'Needs rejoin (playbooks/rejoin.yml): n1' in proc.stdout
        new = 'n2' if rs.role('n2') == 'primary' else 'n3'
        other = 'n3' if new == 'n2' else 'n2'
        assert rs.role(new) == 'primary' and rs.upstream_port(other) == str(rs.nodes[new].port)
        # the pooler in front of the failed primary serves the new one
        assert 'Poolers not pointed at the new primary (docs/runbooks/connection-pooling.md): none' in proc.stdout
        conn = bouncer.connect()
        cur = conn.cursor()
        cur.execute("SELECT current_setting('port')::int, pg_is_in_recovery()")
        assert cur.fetchone() == (rs.nodes[new].port, False)
        conn.close()
        # one message for the failover, with the new primary and what to rejoin
        assert len(sink.bodies) == 2, sink.bodies
        told = json.dumps(sink.bodies[1])
        assert 'The primary failed over' in told and new in told and 'to rejoin: n1' in told, told
        events = list((tmp_path / 'reports' / 'events' / 'failover').iterdir())
        assert len(events) == 2 and all((e / 'event.html').exists() for e in events)
        proc = play(tmp_path, inv, {'pgops_rejoin_node': 'n1'}, playbook='rejoin.yml')
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert rs.role('n1') == 'standby' and rs.upstream_port('n1') == str(rs.nodes[new].port)
        again = play(tmp_path, inv, {'pgops_rejoin_node': 'n1'}, playbook='rejoin.yml')
        assert again.returncode == 0 and 'already streams from' in again.stdout
        # a rejoin that worked is information: below the default level, nobody is woken
        assert len(sink.bodies) == 2
    finally:
        bouncer.destroy()
        sink.close()
        rs.destroy()


def pooled(inv, bouncer):
    inv['all']['vars']['pgops_poolers'] = [{
        'host': 'n1', 'name': 'app', 'port': bouncer.port, 'socket_dir': bouncer.base, 'config_file': bouncer.ini,
        'login_user': 'postgres'}]
    return inv


def test_switchover_through_pgbouncer_holds_the_writer_without_errors(tmp_path):
    rs = ReplicaSet(standbys=1)
    bouncer = PgBouncer(rs.nodes['n1'], pool_size=4, pool_mode='transaction')
    probe = dict(name='pooled', hosts=[{'host': '127.0.0.1', 'port': bouncer.port}], login_user='postgres',
                 state_dir=str(tmp_path / 'probe'), interval_ms=20)
    try:
        inv = pooled(inventory(rs), bouncer)
        run_module('write_probe', dict(probe, state='started'))
        proc = play(tmp_path, inv, {'pgops_switchover_candidate': 'n2'}, playbook='switchover.yml')
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert 'Poolers held and resumed: n1/app' in proc.stdout
        assert rs.role('n2') == 'primary' and rs.role('n1') == 'standby'
        result = run_module('write_probe', dict(probe, state='stopped'))
        assert result['errors'] == 0 and result['lost'] == 0, result
        assert result['acknowledged'] > 20 and result['max_unavailable_seconds'] > 0.1
        # the pooler serves the new primary
        assert 'port=%d' % rs.nodes['n2'].port in open(bouncer.ini).read()
        # a transaction that outlasts the pause: nothing changes and the pooler runs again
        before = open(bouncer.ini).read()
        holder = bouncer.connect()
        holder.autocommit = False
        holder.cursor().execute('SELECT 1')
        proc = play(tmp_path, inv, {'pgops_switchover_candidate': 'n1', 'pgops_pooler_pause_timeout': 1},
                    playbook='switchover.yml')
        holder.rollback()
        holder.close()
        assert proc.returncode != 0 and 'PAUSE did not complete in 1 s' in proc.stdout, proc.stdout[-4000:]
        assert 'Read who is primary now' in proc.stdout, proc.stdout[-6000:]
        assert rs.role('n2') == 'primary' and rs.role('n1') == 'standby'
        assert open(bouncer.ini).read() == before
        conn = bouncer.connect()
        conn.cursor().execute('CREATE TABLE after_refusal ()')  # not held: the pooler runs, on the primary
        conn.close()
    finally:
        bouncer.destroy()
        rs.destroy()
