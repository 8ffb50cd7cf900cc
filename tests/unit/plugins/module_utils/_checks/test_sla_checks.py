# SPDX-License-Identifier: GPL-3.0-or-later
"""Service levels from tables of runs: verdicts, proven uptime, data at risk, and each objective's finding."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import sla

TH = sla.REGISTRY.defaults()
START, END = sla.month_bounds('2026-11')


@pytest.mark.parametrize('text,expected', [
    ('2026-11-02 06:00:00 UTC', START + 86400 + 6 * 3600),
    ('2026-11-02T06:00:00Z', START + 86400 + 6 * 3600),
    ('2026-11-02 07:00:00.123+01', START + 86400 + 6 * 3600),
    ('2026-11-02 01:30:00-04:30', START + 86400 + 6 * 3600),
    ('yesterday', None), (None, None), ('2026-11-02 06:00', None),
])
def test_times(text, expected):
    assert sla.seconds(text) == expected


def host(primary=True, reachable=True, started='2026-10-01 00:00:00+00', **extra):
    m = dict(reachable=reachable, in_recovery=not primary, started_at=started, archive_mode='off', **extra)
    return {'metrics': m, 'findings': []}


def run(day, hosts):
    return {'date': '2026-11-%02d' % day, 'time': START + (day - 1) * 86400 + 6 * 3600, 'hosts': hosts}


def facts(daily, objectives=None, restore=(), drills=()):
    f = sla.analyse('c', ['a', 'b'], {'daily': daily, 'restore_test': list(restore), 'drills': list(drills)},
                    '2026-11', END + 1)
    f['objectives'] = dict({'availability_pct': None, 'rpo_seconds': None, 'rto_seconds': None}, **(objectives or {}))
    return f


def raised(f):
    return sorted((x['id'], x['severity']) for x in sla.REGISTRY.evaluate(f, TH) if x['severity'] != 'ok')


def test_verdicts_up_down_unknown():
    f = facts([run(1, {'a': host(), 'b': host(primary=False)}),
               run(2, {'a': host(reachable=False), 'b': host(primary=False)}),          # the primary down
               run(3, {'a': host(primary=False), 'b': host(primary=False)}),            # no primary at all
               run(4, {'a': {'msg': 'UNREACHABLE', 'findings': []}}),                   # not reached: unknown
               run(5, {'b': host(started='2026-11-04 12:00:00+00')})])                  # failover: b is primary
    assert [r['status'] for r in f['runs']] == ['up', 'down', 'down', 'unknown', 'up']
    assert f['availability_pct'] == 50.0 and f['unknown_runs'] == 1
    assert [c['observed'] for c in f['causes']][-1] == 'no primary: every host answered in recovery'
    assert f['restarts'] == [{'host': 'b', 'started_at': '2026-11-04 12:00:00+00', 'down_at_most_since': '2026-11-01'}]


def test_proven_up_joins_overlapping_uptimes():
    # up since before the month, checked every day: proven from the 1st 00:00 to the last check
    f = facts([run(d, {'a': host()}) for d in range(1, 31)])
    assert f['proven_up_pct'] == pytest.approx(100.0 * (29 * 86400 + 6 * 3600) / (30 * 86400), abs=0.001)
    met = dict(f, objectives={'availability_pct': 99.9, 'rpo_seconds': 60, 'rto_seconds': 60})
    assert f['coverage_pct'] == 100.0 and raised(met) == [('sla.drill', 'info'), ('sla.rto', 'warning')]


@pytest.mark.parametrize('metrics,seconds,basis', [
    ({'archive_mode': 'on', 'archiver': {'last_archived_time': '2026-11-01 05:00:00+00', 'failing': False}}, 0.0,
     'WAL archived'),
    ({'archive_mode': 'on', 'archiver': {'last_archived_time': '2026-11-01 05:00:00+00', 'failing': True}}, 3600.0,
     'archiver failing'),
    ({'archive_mode': 'off', 'backup': {'newest_stop': START}}, 6 * 3600.0, 'newest backup'),
    ({'archive_mode': 'off'}, None, 'not known'),
])
def test_data_at_risk(metrics, seconds, basis):
    h = host()
    h['metrics'].update(metrics)
    f = facts([run(1, {'a': h})])
    assert f['rpo'][0]['seconds'] == seconds and f['rpo'][0]['basis'].startswith(basis)


def test_each_objective_missed_is_critical():
    h = host()
    h['metrics'].update(archive_mode='off', backup={'newest_stop': START - 86400})
    restore = [{'date': '2026-11-03', 'time': None, 'hosts': {'a': {'metrics': {'timings': {'rto': 2000}},
                                                                    'findings': []}}}]
    drills = [{'date': '2026-11-04T00:00:00Z', 'cluster': 'a,b',
               'scenarios': [{'rto_seconds': '12.5', 'rpo_transactions': '3', 'rpo_seconds': '0.2', 'passed': False}]}]
    f = facts([run(1, {'a': h}), run(2, {'a': host(reachable=False)})] + [run(d, {'a': h}) for d in range(3, 31)],
              {'availability_pct': 99.9, 'rpo_seconds': 3600, 'rto_seconds': 900}, restore, drills)
    assert raised(f) == [('sla.availability', 'critical'), ('sla.drill', 'critical'), ('sla.rpo', 'critical'),
                         ('sla.rto', 'critical')]
    findings = sla.REGISTRY.evaluate(f, TH)
    assert sorted(set(b['objective'] for b in sla.breaches(f, findings))) == ['availability']
    plots = sla.plots(f)
    assert [p['title'].split(': ')[1][:12] for p in plots] == ['availability', 'RPO, data at', 'RTO measured']
    assert plots[1]['series'][1]['name'] == 'age of the newest backup'
