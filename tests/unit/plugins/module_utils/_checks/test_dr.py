# SPDX-License-Identifier: GPL-3.0-or-later
"""The DR plan from tables: the scenario each topology gets, the last rehearsals read from the
history, and the gaps each check finds."""

import json

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import dr
from ansible_collections.pgops.postgresql.plugins.module_utils._checks.sla import seconds

NOW = seconds('2026-12-03 12:00:00 UTC')
NONE = {'drills': [], 'restore_tests': []}


def _cluster(hosts, repo=None, **extra):
    c = {'name': 'c1', 'hosts': hosts, 'repository': repo if repo is not None else {'host': 'backup1', 'site': 'b'},
         'rto_seconds': 60, 'rpo_seconds': 0, 'contacts': [{'role': 'on call', 'name': 'Ops'}]}
    c.update(extra)
    return c


P = {'name': 'db1', 'role': 'primary', 'site': 'a'}
SYNC = {'name': 'db2', 'role': 'standby', 'site': 'a', 'synchronous': True}
FAR = {'name': 'db3', 'role': 'standby', 'site': 'b'}


def _drill(date, rto=2.0, lost=0, old='db1', new='db2', pitr=None):
    return {'date': date, 'time': None, 'old_primary': old, 'new_primary': new, 'rto_seconds': rto,
            'rpo_transactions': lost, 'rpo_seconds': 0.0, 'passed': True, 'pitr_rto_seconds': pitr,
            'pitr_passed': pitr is not None}


def _gaps(cluster, history=None):
    p = dr.plan(cluster, history or NONE, NOW)
    found = dr.REGISTRY.evaluate(p, dr.REGISTRY.defaults())
    return p, sorted((f['id'], f['severity']) for f in found if f['severity'] != 'ok')


def test_a_synchronous_standby_is_the_failover_candidate_and_a_far_standby_takes_the_site():
    p, dummy = _gaps(_cluster([P, SYNC, FAR]))
    commands = [c for dummy2, c in p['scenarios']['primary_lost']['steps'] if c]
    assert 'pgops_failover_confirm=db2' in commands[1] and '--check' in commands[0]
    assert any('pgops_failover_confirm=db3' in c for dummy2, c in p['scenarios']['site_lost']['steps'] if c)
    assert p['scenarios']['primary_lost']['expected_rpo'].startswith('no acknowledged commit')


def test_without_a_standby_the_primary_is_rebuilt_from_the_backups():
    p, gaps = _gaps(_cluster([P], repo={'host': 'backup1', 'site': 'a'}))
    assert 'pitr.yml' in p['scenarios']['primary_lost']['steps'][2][1]
    assert not p['scenarios']['site_lost']['ready']
    assert ('dr.standby_elsewhere', 'critical') in gaps


CASES = [
    ('all rehearsed and met', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', old='db1', new='db3', pitr=30.0)],
      'restore_tests': [{'date': '2026-12-01', 'host': 'db1', 'rto_seconds': 40.0, 'passed': True}]}, {}, []),
    ('never rehearsed', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'}, NONE, {},
     [('dr.rehearsed', 'warning')] * 4),
    ('rehearsed too long ago', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-06-01', old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {},
     [('dr.rehearsed', 'warning')] * 4),
    ('a drill in one site does not rehearse the site', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', pitr=30.0)], 'restore_tests': []}, {}, [('dr.rehearsed', 'warning')]),
    ('drill too slow', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', rto=75.0, old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {},
     [('dr.objectives', 'warning')]),
    ('commits lost against none', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', lost=3, old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {},
     [('dr.objectives', 'warning')]),
    ('no objectives', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', old='db1', new='db3', pitr=30.0)], 'restore_tests': []},
     {'rto_seconds': None, 'rpo_seconds': None}, [('dr.objectives', 'warning')]),
    ('nobody to call', [P, SYNC, FAR], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {'contacts': []},
     [('dr.contacts', 'warning')]),
    ('backups on the primary', [P, SYNC, FAR], {'host': 'db1', 'site': 'a', 'type': 'posix'},
     {'drills': [_drill('2026-11-20', old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {},
     [('dr.backup_location', 'warning')]),
    ('backups in a bucket', [P, SYNC, FAR], {'type': 's3', 'site': 'b'},
     {'drills': [_drill('2026-11-20', old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {}, []),
    ('one site, backups elsewhere', [P, SYNC], {'host': 'backup1', 'site': 'b'},
     {'drills': [_drill('2026-11-20', pitr=30.0)], 'restore_tests': []}, {},
     [('dr.rehearsed', 'warning'), ('dr.standby_elsewhere', 'info')]),
    ('no backups at all', [P, SYNC, FAR], {},
     {'drills': [_drill('2026-11-20', old='db1', new='db3', pitr=30.0)], 'restore_tests': []}, {},
     [('dr.backup_location', 'critical')]),
]


@pytest.mark.parametrize('label, hosts, repo, history, extra, expected', CASES, ids=[c[0] for c in CASES])
def test_gaps(label, hosts, repo, history, extra, expected):
    dummy, gaps = _gaps(_cluster(hosts, repo, **extra), history)
    assert gaps == sorted(expected)


def test_rehearsals_read_the_history_and_skip_what_they_can_not_read(tmp_path):
    (tmp_path / 'dr_drill').mkdir()
    record = {'date': '2026-11-20T03:00:00Z', 'cluster': 'db1,db2', 'pitr': {'rto_seconds': '31.5', 'passed': True},
              'scenarios': [{'old_primary': 'db1', 'new_primary': 'db2', 'rto_seconds': '1.9',
                             'rpo_transactions': '0', 'passed': 'True'}]}
    other = dict(record, cluster='x1,x2')
    (tmp_path / 'dr_drill' / 'history.jsonl').write_text('\n'.join([json.dumps(record), '{broken', json.dumps(other)]))
    for day, body in (('2026-11-28', {'hosts': [{'host': 'db1', 'metrics': {'timings': {'rto': 40}}, 'findings': []}]}),
                      ('2026-11-29', None), ('not-a-day', {})):
        (tmp_path / 'restore_test' / day).mkdir(parents=True)
        if body is not None:
            (tmp_path / 'restore_test' / day / 'fleet-summary.json').write_text(json.dumps(body))
    history, unreadable = dr.rehearsals(str(tmp_path), ['db1', 'db2'])
    assert unreadable == 2  # the broken line and the run without its fleet report
    assert [(d['date'], d['rto_seconds'], d['pitr_rto_seconds'], d['passed']) for d in history['drills']] == [
        ('2026-11-20', 1.9, 31.5, True)]
    assert history['restore_tests'] == [{'date': '2026-11-28', 'host': 'db1', 'rto_seconds': 40.0, 'passed': True}]
