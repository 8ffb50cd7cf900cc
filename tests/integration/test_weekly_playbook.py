# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/weekly.yml for real: a cluster with planted maintenance problems, and a cluster with
backups (a real pgBackRest stanza: verify and a restore test), then a second run that finds
nothing left to do."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import yaml

from tests.harness.pgbackrest import Stanza
from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster, wait_for
from tests.harness.planted import plant


def host(cluster, name, **extra):
    values = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
              'postgresql_version': '15', 'postgresql_bin_dir': cluster.bin_dir, 'postgresql_cluster_name': name,
              'postgresql_port': cluster.port, 'postgresql_socket_dir': cluster.socket_dir,
              'postgresql_admin_user': 'postgres', 'pgops_log_files': [cluster.log_file]}
    values.update(extra)
    return values


def play(tmp_path, hosts):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': hosts}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
            os.path.join(ROOT, 'playbooks', 'weekly.yml')]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    latest = tmp_path / 'reports' / 'weekly' / 'latest.txt'
    run_dir = os.path.dirname(latest.read_text().strip()) if latest.exists() else None
    return proc, run_dir


@pytest.fixture()
def estate():
    planted = PgCluster(settings={'autovacuum': 'off'}).start()
    plant(planted)
    planted.psql('CREATE EXTENSION amcheck')
    stanza = Stanza(name='weekly').start()
    stanza.cluster.psql('CREATE EXTENSION amcheck')
    stanza.cluster.psql('CREATE TABLE t AS SELECT generate_series(1, 1000) AS i')
    stanza.backup('full')
    scratch = tempfile.mkdtemp(prefix='pgops-weekly-')  # postgres restores here: not under pytest's 0700 tmp
    os.chmod(scratch, 0o755)
    yield planted, stanza, scratch
    planted.destroy()
    stanza.destroy()
    shutil.rmtree(scratch, ignore_errors=True)


def findings(run_dir, name):
    return json.load(open(os.path.join(run_dir, '%s.json' % name)))['hosts'][0]['findings']


def test_weekly_maintains_verifies_and_restores(estate, tmp_path):
    planted, stanza, scratch = estate
    hosts = {'db-planted': host(planted, 'planted', pgops_amcheck_max_relations=40),
             'db-backed': host(stanza.cluster, 'backed', pgops_backup_enabled=True, pgbackrest_stanza='weekly',
                               pgops_pgbackrest_config=stanza.config, pgops_restore_scratch_root=scratch)}
    # a client commits every 20 ms on the planted cluster while the weekly run maintains it
    stop, waits = threading.Event(), []

    def writer():
        conn = planted.connect()
        cur = conn.cursor()
        while not stop.is_set():
            t0 = time.time()
            cur.execute("INSERT INTO dead (id, v) VALUES (-%d, 'w')" % (len(waits) + 1))
            waits.append(time.time() - t0)
            time.sleep(0.02)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        proc, run_dir = play(tmp_path, hosts)
    finally:
        stop.set()
        thread.join()
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert len(waits) > 20 and max(waits) < 1.5, max(waits)
    fleet = json.load(open(os.path.join(run_dir, 'fleet-summary.json')))
    assert fleet['summary']['hosts'] == 2 and fleet['summary']['warning'] == 0 and fleet['summary']['critical'] == 0, \
        fleet['summary']
    done = dict((f['id'], f) for f in findings(run_dir, 'db-planted'))
    assert done['maintenance.done']['observed'] == '3 item(s) done, 0 skipped, 0 failed', done
    backed = dict((f['id'], f) for f in findings(run_dir, 'db-backed'))
    assert backed['backup.verify']['severity'] == 'ok' and backed['restore_test.result']['severity'] == 'ok', backed
    assert backed['restore_test.result']['observed'].startswith('RTO ')
    # what weekly fixed stays fixed
    assert planted.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'fixable_k'::regclass") == 't'
    assert planted.psql("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'stale'") == 't'
    for name in ('db-planted', 'db-backed', 'fleet-summary'):
        for ext in ('json', 'md', 'html'):
            assert os.path.getsize(os.path.join(run_dir, '%s.%s' % (name, ext))) > 0
    # the security log of the week was reviewed (the weekly checks only)
    assert 'log.auth_failures' in done and 'log.errors' not in done
    # amcheck: 40 relations on the planted host, where it stopped kept on the controller; all of them on the other
    assert done['amcheck.coverage']['observed'].startswith('40 of '), done['amcheck.coverage']
    assert backed['amcheck.corruption']['severity'] == 'ok' and 'completed' in backed['amcheck.coverage']['observed']
    state = tmp_path / 'reports' / 'weekly' / 'amcheck' / 'db-planted.json'
    first_cursor = json.loads(state.read_text())['next_cursor']
    assert first_cursor['database'] == 'postgres' and first_cursor['oid'] > 0

    # a week later nothing is left to do
    assert wait_for(lambda: planted.psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'dead'") == '0',
                    10)
    proc, run_dir = play(tmp_path, hosts)
    assert proc.returncode == 0, proc.stdout[-4000:]
    done = dict((f['id'], f) for f in findings(run_dir, 'db-planted'))
    assert done['maintenance.done']['observed'] == '0 item(s) done, 0 skipped, 0 failed', done
    # the rotation went on where it stopped
    assert json.loads(state.read_text())['next_cursor']['oid'] > first_cursor['oid'] or \
        'completed' in done['amcheck.coverage']['observed'], done['amcheck.coverage']
