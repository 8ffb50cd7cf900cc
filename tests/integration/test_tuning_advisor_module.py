# SPDX-License-Identifier: GPL-3.0-or-later
"""tuning_advisor against a real cluster: one statement, nothing written; the harness's small settings are
named against a 16 GB web plan, a server set as recommended passes, and the host's own memory and CPUs are
read when none are given."""

import os

from tests.harness.pgcluster import PgCluster, run_module


def test_advice_from_a_plan_and_from_the_host():
    c = PgCluster().start()
    try:
        xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
        before = c.psql(xmax)
        result = run_module('tuning_advisor', c.login(workload='web', storage='ssd', memory='16GB', cpus=4,
                                                      connections=100))
        assert c.psql(xmax) == before and result['round_trips'] == 1 and not result['changed']
        problems = sorted(f['id'] for f in result['findings'] if f['severity'] != 'ok')
        assert 'tuning.shared_buffers' in problems and 'tuning.work_mem' in problems, problems
        assert result['postgresql_settings']['shared_buffers'] == '4GB'
        # applied as recommended (what install.yml's postgresql_settings would write), it passes
        with open(os.path.join(c.conf_d, '90-tuning.conf'), 'w') as fh:
            for name, value in result['postgresql_settings'].items():
                if name not in ('shared_buffers', 'huge_pages', 'max_worker_processes'):   # restart-only ones aside
                    fh.write("%s = '%s'\n" % (name, value))
        c.psql('SELECT pg_reload_conf()')
        again = run_module('tuning_advisor', c.login(workload='web', storage='ssd', memory='16GB', cpus=4,
                                                     connections=100, skip_checks=['shared_buffers',
                                                                                   'max_worker_processes']))
        assert [f['id'] for f in again['findings'] if f['severity'] != 'ok'] == []
        # no plan given: the host's memory and CPUs
        host = run_module('tuning_advisor', c.login())['host']
        assert host['memory_bytes'] > 256 * 1024 ** 2 and host['cpus'] >= 1 and host['connections'] == 40
    finally:
        c.destroy()
