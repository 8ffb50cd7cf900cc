# SPDX-License-Identifier: GPL-3.0-or-later
"""amcheck against a real PostgreSQL 15 cluster (no data checksums, so amcheck itself has to see it):
a clean rotation over several runs, then an index page and a heap page overwritten on disk while
the server is stopped, each a critical finding naming the relation."""

import os

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module

SETUP = """
CREATE EXTENSION amcheck;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
CREATE INDEX t_v ON t (v);
CREATE TABLE h (id int, v text);
INSERT INTO h SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
CHECKPOINT;
"""


@pytest.fixture()
def cluster():
    c = PgCluster(checksums=False).start()
    c.psql('CREATE DATABASE app')
    c.psql(SETUP, db='app')
    c.psql('CREATE DATABASE noext')
    yield c
    c.destroy()


def amcheck(cluster, **extra):
    args = dict(databases=['app'])
    args.update(extra)
    return run_module('amcheck', cluster.login(**args))


def path_of(cluster, relation):
    return os.path.join(cluster.data_dir, cluster.psql("SELECT pg_relation_filepath('%s')" % relation, db='app'))


def overwrite(path, block, offset, data):
    with open(path, 'r+b') as fh:
        fh.seek(block * 8192 + offset)
        fh.write(data)


def test_clean_rotation_covers_everything_over_several_runs(cluster):
    first = amcheck(cluster, max_relations=10)
    total = first['coverage']['total']
    assert total > 30 and first['coverage']['checked'] == 10 and not first['coverage']['cycle_complete']
    assert [f['id'] for f in first['findings'] if f['severity'] != 'ok'] == ['amcheck.coverage']
    seen = [(c['database'], c['schema'], c['relation']) for c in first['relations']]
    cursor = first['next_cursor']
    runs = 1
    while True:
        nxt = amcheck(cluster, max_relations=10, cursor=cursor)
        runs += 1
        seen += [(c['database'], c['schema'], c['relation']) for c in nxt['relations']]
        assert all(c['outcome'] == 'ok' for c in nxt['relations']), nxt['relations']
        cursor = nxt['next_cursor']
        if nxt['coverage']['cycle_complete']:
            break
        assert runs < 50
    # every relation over the cycle; the run that reaches the end goes on from the beginning
    assert len(set(seen)) == total and len(seen) < total + 10
    assert ('app', 'public', 't_v') in seen and ('app', 'public', 'h') in seen
    again = amcheck(cluster, max_relations=10, cursor=cursor)
    order = [c['relation'] for c in first['relations']] + [c['relation'] for c in amcheck(
        cluster, max_relations=10, cursor=first['next_cursor'])['relations']]
    wrapped = len(seen) - total
    assert [c['relation'] for c in again['relations']] == order[wrapped:wrapped + 10]
    # the privilege probe, the database list, one catalog statement per database, one round trip per
    # verification
    assert again['round_trips'] == 2 + 1 + 10


def test_corrupt_index_and_heap_are_critical_and_named(cluster):
    index, heap = path_of(cluster, 't_v'), path_of(cluster, 'h')
    cluster.stop()
    overwrite(index, 1, 0, b'\0' * 8192)
    overwrite(heap, 0, 8192 - 200, b'\xff' * 120)
    cluster.start()
    result = amcheck(cluster)
    crit = dict((f['object'], f) for f in result['findings'] if f['severity'] == 'critical')
    assert sorted(crit) == ['app.public.h', 'app.public.t_v'], result['findings']
    assert crit['app.public.t_v']['id'] == 'amcheck.corruption' and 'zero page' in crit['app.public.t_v']['observed']
    assert 'block 0' in crit['app.public.h']['observed']
    assert result['summary']['worst'] == 'critical' and result['coverage']['cycle_complete']


def test_database_without_amcheck_is_named(cluster):
    result = amcheck(cluster, databases=['app', 'noext'], max_relations=1)
    warn = [(f['id'], f['object']) for f in result['findings'] if f['severity'] == 'warning']
    assert warn == [('amcheck.not_installed', 'noext')]
    assert 'CREATE EXTENSION amcheck;' in [f for f in result['findings'] if f['id'] == 'amcheck.not_installed'][0][
        'remediation']


def test_locked_relation_is_skipped_not_waited_for(cluster):
    conn = cluster.connect(db='app', autocommit=False)
    try:
        conn.cursor().execute('LOCK TABLE h IN ACCESS EXCLUSIVE MODE')
        result = amcheck(cluster, lock_timeout_ms=200)
        skipped = [f for f in result['findings'] if f['id'] == 'amcheck.skipped']
        assert [(f['object'], f['observed']) for f in skipped] == [('app.public.h', 'lock not granted')]
    finally:
        conn.rollback()
        conn.close()


def test_never_writes(cluster):
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    before = cluster.psql(xmax)
    amcheck(cluster, max_relations=20)
    assert cluster.psql(xmax) == before


@pytest.mark.parametrize('args,words', [
    (dict(cursor={'database': 'app', 'oid': 'x'}), ['cursor.oid']),
    (dict(cursor={'db': 'app'}), ['cursor', 'next_cursor']),
    (dict(time_budget_s=0), ['time_budget_s']),
    (dict(max_relations=-1), ['max_relations']),
])
def test_bad_input_is_named(cluster, args, words):
    with pytest.raises(ModuleFailed) as err:
        amcheck(cluster, **args)
    msg = err.value.result['msg']
    assert 'Traceback' not in msg
    for word in words:
        assert word in msg, msg
