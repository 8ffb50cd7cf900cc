# SPDX-License-Identifier: GPL-3.0-or-later
"""Every onboarding lab end to end, on a cluster of its own: break it with the lab's playbook, find the exact
finding in the report of the cadence playbook the lab names, see verify.yml fail, apply the lab's solution,
see verify.yml pass. A lab whose steps drift from the collection fails here (docs/onboarding/labs.md)."""

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.harness.pgbackrest import Stanza
from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster

LABS = os.path.join(ROOT, 'docs', 'onboarding', 'labs')


def _host(c, **extra):
    values = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'ansible_host': '127.0.0.1',
              'postgresql_version': '15', 'postgresql_bin_dir': c.bin_dir, 'postgresql_cluster_name': 'lab',
              'postgresql_port': c.port, 'postgresql_socket_dir': c.socket_dir, 'postgresql_admin_user': 'postgres',
              'postgresql_config_dir': c.data_dir, 'postgresql_data_dir': c.data_dir,
              'postgresql_ssl_enabled': False, 'pgops_log_files': [c.log_file]}
    values.update(extra)
    return values


class Lab(object):
    def __init__(self, tmp_path, name, host):
        self.tmp = tmp_path
        self.dir = os.path.join(LABS, name)
        self.inventory = tmp_path / 'hosts.yml'
        self.inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': {'lab1': host}}}}}))

    def play(self, playbook, *extra):
        path = playbook if os.path.isabs(playbook) else os.path.join(self.dir, playbook)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(self.tmp / 'reports'),
                   ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
        argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(self.inventory), path]
        for item in extra:
            argv += ['-e', item]
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)

    def ok(self, playbook, *extra):
        proc = self.play(playbook, *extra)
        assert proc.returncode == 0, (playbook, proc.stdout[-4000:], proc.stderr[-2000:])
        return proc

    def detect(self, cadence, *extra):
        """The cadence playbook as the learner runs it; its newest fleet report's findings of lab1."""
        self.play(os.path.join(ROOT, 'playbooks', cadence + '.yml'), *extra)
        reports = sorted(glob.glob(str(self.tmp / 'reports' / cadence / '*' / 'fleet-summary.json')),
                         key=os.path.getmtime)
        assert reports, 'no %s report' % cadence
        hosts = json.load(open(reports[-1]))['hosts']
        return [f for h in hosts if h['host'] == 'lab1' for f in h['findings'] if f['severity'] != 'ok']

    def solve(self):
        proc = self.play('verify.yml')
        assert proc.returncode != 0 and 'Not yet' in proc.stdout, proc.stdout[-2000:]
        self.ok('solution.yml')
        assert 'solved' in self.ok('verify.yml').stdout


@pytest.fixture()
def cluster():
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    yield c
    c.destroy()


def test_lab_1_idle_transaction(cluster, tmp_path):
    lab = Lab(tmp_path, '1-idle-transaction', _host(cluster))
    lab.ok('break.yml', 'lab_hold_seconds=120')
    found = lab.detect('daily', json.dumps({'pgops_health_thresholds': {'idle_in_transaction_warning_seconds': 1}}))
    idle = [f for f in found if f['id'] == 'health.idle_in_transaction']
    assert idle and 'lab_app' in json.dumps(idle), found
    lab.solve()
    assert cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'lab_app'") == '0'
    assert cluster.psql('SHOW idle_in_transaction_session_timeout') == '10min'


def test_lab_2_never_analyzed(cluster, tmp_path):
    lab = Lab(tmp_path, '2-never-analyzed', _host(cluster))
    lab.ok('break.yml')
    found = lab.detect('daily')
    assert [(f['id'], f['object'], f['title']) for f in found if f['id'] == 'health.table_analyze'] == [
        ('health.table_analyze', 'postgres.public.lab_events', 'A table has never been analyzed')], found
    lab.solve()


def test_lab_3_trust_rule(cluster, tmp_path):
    # the inventory's pg_hba.conf lets the OS users in through the pgops peer map, as install.yml sets it up
    with open(os.path.join(cluster.data_dir, 'pg_ident.conf'), 'a') as fh:
        fh.write('pgops root postgres\npgops postgres postgres\n')
    lab = Lab(tmp_path, '3-trust-rule', _host(cluster))
    lab.ok('break.yml')
    found = lab.detect('quarterly')
    ids = set(f['id'] for f in found)
    assert {'sec.auth.hba_trust', 'outside.trust'} <= ids, sorted(ids)
    assert any('0.0.0.0/0' in json.dumps(f) for f in found if f['id'] == 'sec.auth.hba_trust')
    lab.solve()
    hba = open(os.path.join(cluster.data_dir, 'pg_hba.conf')).read()
    assert 'trust' not in [line.split()[-1] for line in hba.splitlines() if line.strip() and not line.startswith('#')]


def test_lab_4_missing_wal(tmp_path):
    stanza = Stanza(name='lab').start()
    try:
        stanza.backup('full')
        c = stanza.cluster
        lab = Lab(tmp_path, '4-missing-wal', _host(c, pgops_backup_enabled=True, pgbackrest_stanza='lab',
                                                   pgops_pgbackrest_config=stanza.config,
                                                   pgbackrest_repo_path=stanza.repo, pgops_weekly_restore_test=False))
        lab.ok('break.yml')
        found = lab.detect('weekly')
        gaps = [(f['id'], f['severity']) for f in found if f['id'] == 'backup.archive_gap']
        assert gaps == [('backup.archive_gap', 'critical')], found
        lab.solve()
    finally:
        stanza.destroy()


def test_lab_5_dead_standby(tmp_path):
    c = PgCluster(settings={'autovacuum': 'off', 'wal_level': 'replica'}).start()
    try:
        lab = Lab(tmp_path, '5-dead-standby', _host(c))
        lab.ok('break.yml')
        found = lab.detect('daily')
        slots = [(f['id'], f['object'], f['title']) for f in found if f['id'] == 'health.replication_slots']
        assert ('health.replication_slots', 'slot db9', 'A replication slot is inactive') in slots, found
        lab.solve()
        assert c.psql('SELECT count(*) FROM pg_replication_slots') == '0'
    finally:
        c.destroy()


def test_lab_6_bloated_index(cluster, tmp_path):
    lab = Lab(tmp_path, '6-bloated-index', _host(cluster, pgops_index_review_databases=['postgres']))
    lab.ok('break.yml')
    found = lab.detect('monthly', 'pgops_month_override=2026-11')
    bloated = [f for f in found if f['id'] == 'index.bloated']
    assert bloated and 'lab_queue_payload' in bloated[0]['object'], found
    lab.solve()


def test_every_lab_is_tested_and_described():
    labs = sorted(d for d in os.listdir(LABS) if os.path.isdir(os.path.join(LABS, d)))
    assert labs == ['1-idle-transaction', '2-never-analyzed', '3-trust-rule', '4-missing-wal', '5-dead-standby',
                    '6-bloated-index']
    text = open(os.path.join(ROOT, 'docs', 'onboarding', 'labs.md')).read()
    for lab in labs:
        for name in ('break.yml', 'solution.yml', 'verify.yml'):
            assert os.path.exists(os.path.join(LABS, lab, name)), (lab, name)
        assert 'labs/%s/break.yml' % lab in text and 'labs/%s/verify.yml' % lab in text, lab
        number = lab.split('-')[0]
        assert '## Lab %s:' % number in text and text.count('### Self-assessment') == len(labs), lab
