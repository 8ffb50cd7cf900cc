# SPDX-License-Identifier: GPL-3.0-or-later
"""performance_review against a real PostgreSQL 15 cluster with pg_stat_statements: a first snapshot,
then the index a statement used is dropped (the statement regresses) and a new heavy statement
appears; the second run against the first snapshot names both, and nothing else."""

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module

LOOKUP = "SELECT count(*) FROM t WHERE k = %d"


@pytest.fixture(scope='module')
def cluster():
    c = PgCluster(settings={'shared_preload_libraries': 'pg_stat_statements', 'track_io_timing': 'on'}).start()
    c.psql('CREATE EXTENSION pg_stat_statements')
    c.psql("CREATE TABLE t (id int, k int, v text); "
           "INSERT INTO t SELECT g, g % 5000, md5(g::text) FROM generate_series(1, 400000) g; "
           "CREATE INDEX t_k ON t (k); ANALYZE t")
    yield c
    c.destroy()


def perf(cluster, **extra):
    return run_module('performance_review', cluster.login(**extra))


def ids(result):
    return sorted((f['id'], f['severity']) for f in result['findings'] if f['severity'] != 'ok')


def test_regression_and_new_heavy_statement_against_the_previous_snapshot(cluster):
    c = cluster
    c.psql(';'.join(LOOKUP % i for i in range(100)))
    first = perf(c)
    assert ids(first) == [], first['findings']
    assert first['period'] == 'since the statistics reset'
    lookup = [r for r in first['top']['calls'] if 'FROM t WHERE k' in r['query']][0]
    assert lookup['calls'] >= 100 and first['snapshot']['statements'][lookup['key']]['calls'] >= 100
    # the four statements, whatever the number of statements tracked
    assert first['round_trips'] == 4
    assert first['server']['cache_hit_pct'] > 0 and 'checkpoints_requested' in first['server']

    c.psql('DROP INDEX t_k')
    c.psql(';'.join(LOOKUP % i for i in range(100)))
    c.psql(';'.join(['SELECT sum(length(v)) FROM t'] * 20))
    second = perf(c, baseline=first['snapshot'])
    assert ids(second) == [('perf.new_heavy', 'info'), ('perf.regression', 'warning')], second['findings']
    regression = [f for f in second['findings'] if f['id'] == 'perf.regression'][0]
    assert regression['object'] == lookup['key'] and 'FROM t WHERE k' in regression['observed']
    assert ' over 100 calls' in regression['observed']
    heavy = [f for f in second['findings'] if f['id'] == 'perf.new_heavy'][0]
    assert 'sum(length(v))' in heavy['observed']
    assert second['period'].startswith('since 20')
    # the period's figures: 100 calls of the lookup since the snapshot, not 200
    assert [r['calls'] for r in second['top']['calls'] if r['key'] == lookup['key']] == [100]


def test_without_pg_stat_statements_it_says_how_to_enable_it():
    c = PgCluster().start()
    try:
        result = perf(c)
        assert ids(result) == [('perf.unavailable', 'warning')]
        [f] = [f for f in result['findings'] if f['id'] == 'perf.unavailable']
        assert 'shared_preload_libraries' in f['observed'] and 'CREATE EXTENSION pg_stat_statements' in f['remediation']
        assert 'snapshot' not in result and result['top']['calls'] == []
    finally:
        c.destroy()


def test_never_writes(cluster):
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    before = cluster.psql(xmax)
    perf(cluster)
    assert cluster.psql(xmax) == before


@pytest.mark.parametrize('args,words', [
    (dict(baseline={'taken_at': 'x'}), ['baseline', 'snapshot']),
    (dict(baseline={'statements': {'a/b/1': {'calls': 'many', 'total_ms': 1}}}), ['baseline.statements.a/b/1']),
    (dict(top=0), ['top']),
    (dict(thresholds={'regression_pct': -1}), ['thresholds.regression_pct']),
])
def test_bad_input_is_named(cluster, args, words):
    with pytest.raises(ModuleFailed) as err:
        perf(cluster, **args)
    msg = err.value.result['msg']
    assert 'Traceback' not in msg
    for word in words:
        assert word in msg, msg
