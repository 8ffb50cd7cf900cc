# SPDX-License-Identifier: GPL-3.0-or-later
"""maintenance against a real PostgreSQL 15 cluster with planted problems.

Planted in the database ``maint`` (autovacuum off): a table never analyzed (``stale``), a table with
half its rows dead (``dead``), a btree index with nine tenths of its entries deleted (``bloated_v``),
an index marked invalid that a rebuild repairs (``fixable_k``), and an invalid unique index from a
failed CREATE UNIQUE INDEX CONCURRENTLY that a rebuild can not repair (``dup_k``: duplicate keys).
"""

import threading
import time

import pytest

from tests.harness.pgcluster import ModuleFailed, run_module, wait_for
from tests.harness.planted import plant

TH = {'reindex_min_bytes': 1024 * 1024}

# on top of tests/harness/planted.py: a bloated index, and a unique index that no rebuild repairs
EXTRA = """
CREATE TABLE bloated (id int, v text) WITH (autovacuum_enabled = false);
INSERT INTO bloated SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
CREATE INDEX bloated_v ON bloated (v);
DELETE FROM bloated WHERE id % 10 <> 0;
CREATE TABLE dup (id int, k int) WITH (autovacuum_enabled = false);
INSERT INTO dup VALUES (1, 1), (2, 1);
ANALYZE dup;
"""


@pytest.fixture(scope='module')
def planted():
    from tests.harness.pgcluster import PgCluster
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    c.psql('CREATE DATABASE maint')
    plant(c, 'maint', EXTRA)
    # in a session of its own: the DELETE's counts reach the statistics when its session ends, and
    # would otherwise count again as dead rows after this VACUUM
    c.psql('VACUUM ANALYZE bloated', db='maint')
    try:
        c.psql('CREATE UNIQUE INDEX CONCURRENTLY dup_k ON dup (k)', db='maint')
    except Exception:  # noqa: BLE001 - the failure is the point: it leaves dup_k invalid
        pass
    yield c
    c.destroy()


def login(cluster, **extra):
    args = dict(databases=['maint'], thresholds=TH)
    args.update(extra)
    return cluster.login(**args)


def steps_of(result):
    return [(i['order'], i['action'], i['object'], i['statement']) for i in result['plan']]


def test_check_mode_plans_exactly_what_a_run_does(planted):
    before = planted.psql("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL", db='maint')
    check = run_module('maintenance', login(planted), check_mode=True)
    # the plan, by benefit: invalid indexes, the table never analyzed, dead rows, the bloated index
    assert [(i['action'], i['name']) for i in check['plan']] == [
        ('reindex', 'fixable_k'), ('reindex', 'dup_k'), ('analyze', 'stale'), ('vacuum analyze', 'dead'),
        ('reindex', 'bloated_v')], check['plan']
    assert check['changed'] is True and 'steps' not in check
    assert check['plan'][2]['statement'] == 'ANALYZE "public"."stale"'
    assert check['plan'][3]['statement'] == 'VACUUM (ANALYZE) "public"."dead"'
    assert check['plan'][4]['statement'] == 'REINDEX INDEX CONCURRENTLY "public"."bloated_v"'
    bloat = dict((b['name'], b) for b in check['bloat'])
    assert bloat['bloated_v']['method'] == 'estimate' and bloat['bloated_v']['bloat_pct'] >= 80, bloat
    # two statements for the server (databases, recovery) and four per database (tables, the
    # extension, indexes, table bloat), whatever the number of objects
    assert check['round_trips'] == 2 + 4
    # check mode wrote nothing
    assert planted.psql("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL",
                        db='maint') == before

    # pgstattuple measures instead of estimating, and agrees
    planted.psql('CREATE EXTENSION pgstattuple', db='maint')
    try:
        measured = run_module('maintenance', login(planted), check_mode=True)
    finally:
        planted.psql('DROP EXTENSION pgstattuple', db='maint')
    bloat = dict((b['name'], b) for b in measured['bloat'])
    assert bloat['bloated_v']['method'] == 'pgstatindex' and bloat['bloated_v']['bloat_pct'] >= 80, bloat
    assert steps_of(measured) == steps_of(check)

    # the object budget keeps the plan's head and reports the rest as skipped
    small = run_module('maintenance', login(planted, max_objects=2), check_mode=True)
    assert steps_of(small) == steps_of(check)[:2]
    assert [(i['name'], i['status']) for i in small['skipped']] == [
        ('stale', 'skipped'), ('dead', 'skipped'), ('bloated_v', 'skipped')]
    assert 'object budget' in small['skipped'][0]['why']

    real = run_module('maintenance', login(planted))
    assert steps_of(real) == steps_of(check)
    status = dict((i['name'], i) for i in real['plan'])
    assert [status[n]['status'] for n in ('fixable_k', 'stale', 'dead', 'bloated_v')] == ['done'] * 4, real['plan']
    # the unique index can not be rebuilt (duplicate keys): reported, and the copy the failed
    # REINDEX CONCURRENTLY left is dropped again
    assert status['dup_k']['status'] == 'failed' and 'is duplicated' in status['dup_k']['why'], status['dup_k']
    assert 'dup_k_ccnew' in status['dup_k']['put_back']
    assert planted.psql("SELECT string_agg(indexrelid::regclass::text, ',') FROM pg_index WHERE NOT indisvalid",
                        db='maint') == 'dup_k'
    assert [f['id'] for f in real['findings'] if f['severity'] == 'warning'] == ['maintenance.failed']
    assert real['changed'] is True and len(real['steps']) == 5
    # what it fixed is fixed
    assert planted.psql("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'stale'",
                        db='maint') == 't'
    assert wait_for(lambda: planted.psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'dead'",
                                         db='maint') == '0', 10)
    assert planted.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'fixable_k'::regclass", db='maint') == 't'

    # idempotent: what is left is the index no rebuild can repair
    again = run_module('maintenance', login(planted), check_mode=True)
    assert [(i['action'], i['name']) for i in again['plan']] == [('reindex', 'dup_k')], again['plan']


def test_a_held_lock_skips_the_item_within_lock_timeout(planted):
    planted.psql("CREATE TABLE locked (id int) WITH (autovacuum_enabled = false);"
                 "INSERT INTO locked SELECT generate_series(1, 5000)", db='maint')
    holder = planted.connect(db='maint', autocommit=False)
    try:
        holder.cursor().execute('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE')
        t0 = time.time()
        result = run_module('maintenance', login(planted, actions=['analyze'], lock_timeout_ms=300))
        seconds = time.time() - t0
    finally:
        holder.rollback()
        holder.close()
    item = [i for i in result['plan'] if i['name'] == 'locked'][0]
    assert item['status'] == 'skipped' and 'lock not granted within 300 ms' in item['why'], item
    assert item['seconds'] < 5 and seconds < 30
    assert [f['object'] for f in result['findings'] if f['id'] == 'maintenance.skipped'] == ['"maint"."public"."locked"']


def test_a_writer_never_waits_longer_than_lock_timeout(planted):
    """A client commits every 20 ms on the table being vacuumed and reindexed; a second session
    holds a snapshot, so the concurrent reindex must wait for it and gives up at lock_timeout,
    leaving an invalid copy that the module drops again."""
    planted.psql("CREATE TABLE busy (id serial PRIMARY KEY, v text) WITH (autovacuum_enabled = false);"
                 "INSERT INTO busy (v) SELECT md5(g::text) FROM generate_series(1, 100000) g;"
                 "CREATE INDEX busy_v ON busy (v); DELETE FROM busy WHERE id % 10 <> 0; ANALYZE busy", db='maint')
    stop = threading.Event()
    waits = []

    def writer():
        conn = planted.connect(db='maint')
        cur = conn.cursor()
        while not stop.is_set():
            t0 = time.time()
            cur.execute("INSERT INTO busy (v) VALUES ('w')")
            waits.append(time.time() - t0)
            time.sleep(0.02)
        conn.close()

    # a repeatable-read transaction keeps its snapshot (no lock on busy): REINDEX CONCURRENTLY waits
    # for older snapshots before the new index may be used
    snapshot = planted.connect(db='maint', autocommit=False)
    snapshot.set_session(isolation_level='REPEATABLE READ')
    snapshot.cursor().execute('SELECT 1')
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        result = run_module('maintenance', login(planted, lock_timeout_ms=500))
    finally:
        stop.set()
        thread.join()
        snapshot.rollback()
        snapshot.close()
    status = dict((i['name'], i) for i in result['plan'])
    assert status['busy']['status'] == 'done'  # VACUUM ANALYZE never waits on the writer
    assert status['busy_v']['status'] == 'skipped' and 'lock_timeout' in status['busy_v']['why'], status['busy_v']
    assert 'busy_v_ccnew' in status['busy_v'].get('put_back', ''), status['busy_v']
    assert planted.psql("SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indrelid = 'busy'::regclass",
                        db='maint') == '0'
    assert len(waits) > 10 and max(waits) < 0.5 + 1.0, max(waits)


def test_a_failure_after_an_item_says_what_was_done(planted):
    """Items stand alone (an ANALYZE can not be half done): a run stopped after one names it."""
    planted.psql("CREATE TABLE fault (id int) WITH (autovacuum_enabled = false);"
                 "INSERT INTO fault SELECT generate_series(1, 5000)", db='maint')
    with pytest.raises(ModuleFailed) as err:
        run_module('maintenance', login(planted, actions=['analyze']), env={'PGOPS_FAULT_AT': '1'})
    result = err.value.result
    assert 'injected fault' in result['msg'] and 'Done before it' in result['msg'], result['msg']
    assert 'analyze "maint"."public"."fault"' in result['msg'], result['msg']
    assert result['changed'] is True and result['steps'][0]['ok'] is True
    assert planted.psql("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'fault'",
                        db='maint') == 't'


def test_bad_thresholds_are_refused_before_connecting(planted):
    with pytest.raises(ModuleFailed) as err:
        run_module('maintenance', login(planted, thresholds={'vacuum_dead_ratio': 2}))
    assert "parameter 'thresholds'" in str(err.value) and 'vacuum_dead_ratio' in str(err.value)
    with pytest.raises(ModuleFailed) as err:
        run_module('maintenance', login(planted, thresholds={'no_such': 1}))
    assert 'no_such' in str(err.value) and 'Fix:' in str(err.value)
    with pytest.raises(ModuleFailed) as err:
        run_module('maintenance', login(planted, lock_timeout_ms=0))
    assert "lock_timeout_ms" in str(err.value)
