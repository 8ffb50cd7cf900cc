# SPDX-License-Identifier: GPL-3.0-or-later
"""The systemd units the roles write, as the roles render them, checked by systemd-analyze verify
(offline: no running systemd is needed). This machine has no systemd to start them; the units'
syntax, their users and their programs are what can be proven here."""

import json
import os
import shutil
import subprocess
import sys

import yaml

from tests.harness.pgcluster import COLLECTIONS, ROOT

# bindep.txt names systemd (systemd-analyze works offline, without a running systemd): never skipped
ANALYZE = shutil.which('systemd-analyze') or '/usr/bin/systemd-analyze'


def test_the_units_of_the_monitoring_and_pgbouncer_roles_verify(tmp_path):
    out = tmp_path / 'units'
    out.mkdir()
    # extra vars: above the roles' defaults and vars, read as vars_files
    extra = {'pgops_pooling_enabled': True, 'monitoring_login_password': 'x' * 12,
             'pgbouncer_instances': [{'name': 'app', 'port': 6432}, {'name': 'admin', 'port': 6433}],
             'pgbouncer_stats_users': [{'name': 'pgops_pool_monitor', 'password': 'y' * 12}],
             '__monitoring_files': {'results': [{'item': '/etc/x', 'stat': {'checksum': 'abc'}}]},
             'ansible_managed': 'test', 'ansible_python_interpreter': sys.executable}
    play = [{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars_files': [os.path.join(ROOT, 'roles', r, d, 'main.yml') for r in ('monitoring', 'pgbouncer')
                       for d in ('defaults', 'vars')],
        'tasks': [
            {'name': 'Render the exporter units', 'ansible.builtin.template': {
                'src': os.path.join(ROOT, 'roles', 'monitoring', 'templates', 'exporter.service.j2'),
                'dest': str(out / 'pgops-{{ __monitoring_exporter.name }}.service'), 'mode': '0644'},
             'loop': '{{ __monitoring_exporters }}', 'loop_control': {'loop_var': '__monitoring_exporter'}},
            {'name': 'Render the pgbouncer units', 'ansible.builtin.template': {
                'src': os.path.join(ROOT, 'roles', 'pgbouncer', 'templates', 'pgbouncer.service.j2'),
                'dest': str(out / 'pgbouncer-{{ __pgbouncer_given.name }}.service'), 'mode': '0644'},
             'vars': {'__pgbouncer': '{{ pgbouncer_instance_defaults | combine(__pgbouncer_given) }}',
                      '__pgbouncer_ini': '/etc/pgbouncer/{{ __pgbouncer_given.name }}.ini'},
             'loop': '{{ pgbouncer_instances }}', 'loop_control': {'loop_var': '__pgbouncer_given'}},
        ]}]
    (tmp_path / 'play.yml').write_text(yaml.safe_dump(play))
    (tmp_path / 'extra.json').write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-e',
                           '@' + str(tmp_path / 'extra.json'), str(tmp_path / 'play.yml')], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    units = sorted(os.listdir(out))
    assert units == ['pgbouncer-admin.service', 'pgbouncer-app.service', 'pgops-pgbouncer-exporter-admin.service',
                     'pgops-pgbouncer-exporter-app.service', 'pgops-postgres-exporter.service']
    for unit in units:
        check = subprocess.run([ANALYZE, 'verify', '--man=no', str(out / unit)], capture_output=True,
                               text=True, check=False)
        # unknown users, programs or keys are printed as warnings with a zero exit status
        messages = [line for line in (check.stdout + check.stderr).splitlines() if unit in line or 'Failed' in line]
        assert check.returncode == 0 and not messages, (unit, check.stdout + check.stderr)
    exporter = (out / 'pgops-postgres-exporter.service').read_text()
    assert 'Environment="DATA_SOURCE_PASS_FILE=/etc/pgops-exporter/postgres.pass"' in exporter
    assert 'x' * 12 not in exporter  # the password is in its file, never in the unit
