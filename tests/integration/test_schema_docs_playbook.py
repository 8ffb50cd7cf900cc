# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/schema_docs.yml for real on two hosts holding the schema fixture, staging (the
reference) and production: the dictionary, the site and the history of each host on the
controller, the lint findings in the reports, production compared with staging; a second run after
a migration on production reports exactly that migration, and a run in check mode writes nothing."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.harness.pgcluster import COLLECTIONS, ROOT, PgCluster
from tests.harness.schema_fixture import SQL


def node(cluster, name, **extra):
    values = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
              'postgresql_version': '15', 'postgresql_bin_dir': cluster.bin_dir, 'postgresql_cluster_name': name,
              'postgresql_port': cluster.port, 'postgresql_socket_dir': cluster.socket_dir,
              'postgresql_admin_user': 'postgres', 'pgops_schema_databases': ['shop'],
              'pgops_schema_reference_host': 'staging'}
    values.update(extra)
    return values


def play(tmp_path, hosts, day, *extra):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': hosts}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PGOPS_REPORT_DIR=str(tmp_path / 'reports'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
            '-e', 'pgops_schema_day_override=%s' % day, os.path.join(ROOT, 'playbooks', 'schema_docs.yml')] + list(extra)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    return proc, tmp_path / 'reports' / 'schema'


@pytest.fixture(scope='module')
def pair():
    clusters = [PgCluster().start(), PgCluster().start()]
    for c in clusters:
        c.psql('CREATE DATABASE shop')
        c.psql(SQL, db='shop')
    yield clusters
    for c in clusters:
        c.destroy()


def findings(root, day, host):
    return json.load(open(str(root / day / ('%s.json' % host))))['hosts'][0]['findings']


def problems(items):
    return sorted((f['id'], f['object']) for f in items if f['severity'] not in ('ok',))


def test_two_hosts_documented_compared_and_a_migration_reported(pair, tmp_path):
    staging, production = pair
    hosts = {'staging': node(staging, 's'), 'production': node(production, 'p')}
    proc, root = play(tmp_path, hosts, '2026-12-01')
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    lint = [('schema.column_type_mismatch', 'shop: customer_id'),
            ('schema.fk_without_index', 'shop: sales.order_line (product_id) -> sales.product'),
            ('schema.matview_never_populated', 'shop: sales.monthly_totals_draft'),
            ('schema.no_primary_key', 'shop: sales.audit_trail'),
            ('schema.security_definer_search_path', 'shop: hr.unsafe_raise(p_id integer)')]
    assert problems(findings(root, '2026-12-01', 'staging')) == lint
    assert problems(findings(root, '2026-12-01', 'production')) == lint   # the same schema: no difference
    for host in ('staging', 'production'):
        assert (root / 'site' / host / 'shop' / 'sales' / 'customer.html').exists()
        assert '```mermaid' in (root / 'markdown' / host / 'shop' / 'sales.md').read_text()
        assert len(os.listdir(str(root / 'history' / host))) == 2      # the first snapshot and the changelog
    assert '[Compared with staging](COMPARE.md)' in (root / 'markdown' / 'production' / 'README.md').read_text()
    assert not any(name.startswith('pgops-schema') for name in os.listdir('/var/tmp'))  # facts removed from the hosts

    production.psql('ALTER TABLE sales.order_line ADD COLUMN note text; GRANT SELECT ON sales.product TO '
                    'fixture_reader', db='shop')
    before = sorted(os.listdir(str(root / 'site' / 'production' / 'shop' / 'sales')))
    checked, dummy = play(tmp_path, hosts, '2026-12-02', '--check')
    assert checked.returncode == 0, checked.stdout[-4000:]
    assert len(os.listdir(str(root / 'history' / 'production'))) == 2
    assert sorted(os.listdir(str(root / 'site' / 'production' / 'shop' / 'sales'))) == before

    proc, root = play(tmp_path, hosts, '2026-12-03')
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert problems(findings(root, '2026-12-03', 'staging')) == lint
    got = problems(findings(root, '2026-12-03', 'production'))
    assert got == sorted(lint + [
        ('schema.changed', 'shop: column sales.order_line.note'),
        ('schema.differs_from_reference', 'shop: column sales.order_line.note'),
        ('schema.differs_from_reference', 'shop: relation sales.product'),
        ('schema.privileges_changed', 'shop: relation sales.product')]), got
    changelog = json.loads((root / 'history' / 'production' / 'changelog.json').read_text())
    assert [len(e['changes']) for e in changelog['entries']] == [2]
    assert 'column `sales.order_line.note` added' in (root / 'markdown' / 'production' / 'CHANGELOG.md').read_text()
