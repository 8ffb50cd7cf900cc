# SPDX-License-Identifier: GPL-3.0-or-later
"""report module: check mode, real run, idempotence, on real health_check results."""

import json
import os
import stat

import pytest

from tests.harness.pgcluster import ModuleFailed, run_module
from tests.integration.conftest import RELAXED_DISK


def test_report_four_steps(cluster, tmp_path):
    health = run_module('health_check', cluster.login(thresholds=RELAXED_DISK))
    dest = str(tmp_path / 'reports' / 'daily')
    args = dict(dest=dest, name='db1', results={'db1': health, 'db2': None}, generated_at='2026-11-24 06:00 UTC')
    planned = run_module('report', args, check_mode=True)
    assert planned['changed'] and not os.path.exists(dest)
    assert sorted(planned['changed_files']) == sorted(planned['files'].values())
    done = run_module('report', args)
    assert done['changed'] and done['files'] == planned['files']
    assert not run_module('report', args, check_mode=True)['changed']
    assert not run_module('report', args)['changed']
    data = json.load(open(done['files']['json']))
    assert data['summary']['failing_hosts'] == ['db2']
    assert [h['host'] for h in data['hosts']] == ['db2', 'db1']
    assert stat.S_IMODE(os.stat(done['files']['html']).st_mode) == 0o640
    assert 'No result from this host' in open(done['files']['markdown']).read()


def test_report_diff_shows_the_change(tmp_path):
    result = {'findings': [{'id': 'health.uptime', 'severity': 'ok', 'title': 't', 'object': 'server',
                            'observed': None, 'expected': None, 'remediation': '', 'waived': False}]}
    args = dict(dest=str(tmp_path), results={'h': result}, formats=['markdown'], generated_at='one')
    run_module('report', args)
    args['generated_at'] = 'two'
    changed = run_module('report', args, diff=True)
    assert 'Generated one.' in changed['diff'][0]['before'] and 'Generated two.' in changed['diff'][0]['after']


def test_bad_name_is_refused(tmp_path):
    with pytest.raises(ModuleFailed) as err:
        run_module('report', dict(dest=str(tmp_path), name='../x', results={}))
    assert "parameter 'name'" in err.value.result['msg']
