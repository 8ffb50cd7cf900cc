# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/dr_plan.yml on the example inventory, and the dr_plan module's writing contract:
check mode, idempotence, diff, a hostile name staying data, and a failed write putting files back.
(The plan of real test clusters with a real drill's figures: test_replication_playbooks.py.)"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.harness.pgcluster import COLLECTIONS, ROOT, ModuleFailed, run_module

EXAMPLE = os.path.join(ROOT, 'inventories', 'example')


def _play(tmp_path, extra=()):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', os.path.join(EXAMPLE, 'hosts.yml'),
            '--vault-password-file', os.path.join(EXAMPLE, 'vault-password.example'),
            os.path.join(ROOT, 'playbooks', 'dr_plan.yml'), '-e', 'pgops_report_dir=%s' % (tmp_path / 'reports'),
            '-e', 'pgops_dr_inventory=inventories/example'] + list(extra)
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def test_the_plan_of_the_example_inventory(tmp_path):
    # a restore test of db1 two weeks before, as restore_test.yml writes it
    run = tmp_path / 'reports' / 'restore_test' / '2026-11-19'
    run.mkdir(parents=True)
    (run / 'fleet-summary.json').write_text(json.dumps({'generated_at': '2026-11-19 03:00:00 UTC', 'hosts': [
        {'host': 'db1', 'findings': [{'id': 'restore_test.result', 'severity': 'ok'}],
         'metrics': {'timings': {'rto': 42.5}}}]}))
    proc = _play(tmp_path)
    # never rehearsed by a drill: warnings, no critical gap, so the play passes
    assert proc.returncode == 0, proc.stdout[-3000:]
    plan = json.load(open(tmp_path / 'reports' / 'dr_plan' / 'dr-plan.json'))
    assert list(plan['plans']) == ['db1']
    p = plan['plans']['db1']
    assert [(h['name'], h['role'], h['site'], h['synchronous']) for h in p['hosts']] == [
        ('db1', 'primary', 'dc1', False), ('db2', 'standby', 'dc1', True), ('db3', 'standby', 'dc2', False)]
    assert p['repository']['host'] == 'backup1' and p['repository_site'] == 'dc2'
    assert p['objectives'] == {'rto_seconds': 60.0, 'rpo_seconds': 0.0}
    assert p['measured']['restore_rto_seconds'] == 42.5 and p['measured']['restore_host'] == 'db1'
    assert [c['role'] for c in p['contacts']] == ['on call', 'service owner']
    commands = dict((k, [c for dummy, c in s['steps'] if c]) for k, s in p['scenarios'].items())
    assert 'ansible-playbook -i inventories/example playbooks/failover.yml -e pgops_hosts=db1,db2,db3 ' \
           '-e pgops_failover_confirm=db2' in commands['primary_lost']  # the synchronous standby
    assert any('pgops_failover_confirm=db3' in c for c in commands['site_lost'])  # the standby in dc2
    assert any('pitr.yml' in c and 'pgops_pitr_target_type=name' in c for c in commands['operator_error'])
    ids = sorted((f['id'], f['severity'], f['object']) for f in plan['clusters']['db1']['findings']
                 if f['severity'] != 'ok')
    assert ids == [('dr.rehearsed', 'warning', 'db1: An operator error at a known time'),
                   ('dr.rehearsed', 'warning', 'db1: The primary is lost'),
                   ('dr.rehearsed', 'warning', 'db1: The site is lost')]
    markdown = (tmp_path / 'reports' / 'dr_plan' / 'dr-plan.md').read_text()
    for text in ('## Cluster db1', '### Scenario: The site is lost', '| db3 | standby | 10.0.10.13:5432 | dc2 |',
                 'Database on-call rota', '| Recovery time, restore (restore test) | 60.0 s | 42.5 s |'):
        assert text in markdown, text
    assert os.path.exists(tmp_path / 'reports' / 'dr_plan' / proc.stdout.split('dr_plan/')[2][:10]
                          / 'dr-plan-findings.html')


def _cluster(**extra):
    c = {'name': 'orders', 'rto_seconds': 60, 'rpo_seconds': 0,
         'hosts': [{'name': 'db1', 'role': 'primary', 'site': 'a'}, {'name': 'db2', 'role': 'standby', 'site': 'b'}],
         'repository': {'host': 'backup1', 'type': 'posix', 'site': 'b'},
         'contacts': [{'role': 'on call', 'name': 'Ops'}]}
    c.update(extra)
    return c


def test_check_mode_idempotence_and_put_back(tmp_path):
    reports = tmp_path / 'reports'
    reports.mkdir()
    args = dict(report_dir=str(reports), clusters=[_cluster()], now='2026-12-03 10:00:00 UTC')
    planned = run_module('dr_plan', args, check_mode=True, diff=True)
    assert planned['changed'] and not (reports / 'dr_plan').exists()
    assert '## Cluster orders' in planned['diff']['after']
    first = run_module('dr_plan', args)
    assert first['changed'] and first['plans'] == planned['plans']
    again = run_module('dr_plan', args)
    assert not again['changed']
    assert not run_module('dr_plan', args, check_mode=True)['changed']
    # a name with Markdown, a pipe and shell characters stays one table cell, and one quoted word in a command
    hostile = _cluster(hosts=[{'name': 'db|1 <b>x</b> ```y```;rm', 'role': 'primary'}])
    result = run_module('dr_plan', dict(args, clusters=[hostile], dest=str(tmp_path / 'odd')))
    text = (tmp_path / 'odd' / 'dr-plan.md').read_text()
    outside_blocks = re.sub(r'(?ms)^   (`{3,})bash$.*?^   \1$', '', text)
    assert '<b>' not in outside_blocks and '| db\\|1 &lt;b&gt;x&lt;/b&gt; ' + '\\`' * 3 + 'y' + '\\`' * 3 + ';rm | primary |' in text
    assert "--limit 'db|1 <b>x</b> ```y```;rm'" in text and '   ````bash' in text  # the fence outgrows the name
    assert result['changed']
    # the Markdown is written, the JSON can not be: the Markdown is put back
    before = (reports / 'dr_plan' / 'dr-plan.md').read_text()
    os.chmod(reports / 'dr_plan', 0o755)
    target = reports / 'dr_plan' / 'dr-plan.json'
    target.unlink()
    target.mkdir()  # a directory where the file goes: the rename fails
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('dr_plan', dict(args, now='2027-06-03 10:00:00 UTC'))
    finally:
        shutil.rmtree(target)
    assert 'put back' in err.value.result['msg']
    assert (reports / 'dr_plan' / 'dr-plan.md').read_text() == before


@pytest.mark.parametrize('change, words', [
    ({'clusters': [_cluster(name='a\nb')]}, 'clusters[0].name'),
    ({'clusters': [_cluster(), _cluster()]}, 'given twice'),
    ({'clusters': [_cluster(hosts=[])]}, 'clusters[0].hosts'),
    ({'clusters': [_cluster(hosts=[{'name': 'db1', 'role': 'leader'}])]}, 'clusters[0].hosts[0].role'),
    ({'clusters': [_cluster(rto_seconds=-1)]}, 'clusters[0].rto_seconds'),
    ({'clusters': [_cluster(contacts=[{}])]}, 'clusters[0].contacts[0]'),
    ({'now': 'yesterday'}, 'now'),
    ({'inventory': 'inv\nx'}, 'inventory'),
    ({'thresholds': {'rehearsal_max_age_days': -1}}, 'rehearsal_max_age_days'),
])
def test_bad_input_is_named(tmp_path, change, words):
    args = dict(report_dir=str(tmp_path), clusters=[_cluster()])
    args.update(change)
    with pytest.raises(ModuleFailed) as err:
        run_module('dr_plan', args)
    assert words in err.value.result['msg'] and 'Traceback' not in err.value.result['msg']
    assert not os.path.exists(tmp_path / 'dr_plan')
