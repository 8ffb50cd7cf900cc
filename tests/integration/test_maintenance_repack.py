# SPDX-License-Identifier: GPL-3.0-or-later
"""maintenance with the repack action: pg_repack (Debian's postgresql-15-repack) rebuilds a bloated table
online while a client commits every 20 ms; never by default; a held lock, a database without the
extension and a missing program are each named."""

import threading
import time

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module

TH = {'repack_min_bytes': 1024 * 1024}
FAT = ("CREATE TABLE fat (id serial PRIMARY KEY, v text) WITH (autovacuum_enabled = false);"
       "INSERT INTO fat (v) SELECT repeat('x', 200) FROM generate_series(1, 200000);"
       "DELETE FROM fat WHERE id % 4 <> 0; VACUUM ANALYZE fat")


@pytest.fixture()
def cluster():
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    c.psql('CREATE DATABASE app')
    c.psql('CREATE EXTENSION pg_repack', db='app')
    c.psql(FAT, db='app')
    yield c
    c.destroy()


def login(c, **extra):
    args = dict(databases=['app'], thresholds=TH, actions=['repack'])
    args.update(extra)
    return c.login(**args)


def test_never_by_default_and_planned_in_check_mode(cluster):
    default = run_module('maintenance', cluster.login(databases=['app'], thresholds=TH), check_mode=True)
    assert not [i for i in default['plan'] if i['action'] == 'repack']
    table = [b for b in default['bloat'] if b['kind'] == 'table' and b['name'] == 'fat'][0]
    assert table['method'] == 'estimate' and 70 <= table['bloat_pct'] <= 80, table
    check = run_module('maintenance', login(cluster), check_mode=True)
    [item] = check['plan']
    assert item['action'] == 'repack' and item['statement'].endswith(
        '--dbname=app --table="public"."fat" --wait-timeout=1 --no-kill-backend'), item
    assert check['changed'] is True and cluster.psql("SELECT count(*) FROM fat", db='app') == '50000'


def test_repack_while_a_writer_commits_every_20_ms(cluster):
    before = int(cluster.psql("SELECT pg_relation_size('fat')", db='app'))
    stop, waits = threading.Event(), []

    def writer():
        conn = cluster.connect(db='app')
        cur = conn.cursor()
        while not stop.is_set():
            t0 = time.time()
            cur.execute("INSERT INTO fat (v) VALUES ('w')")
            waits.append(time.time() - t0)
            time.sleep(0.02)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        result = run_module('maintenance', login(cluster))
    finally:
        stop.set()
        thread.join()
    [item] = result['plan']
    assert item['status'] == 'done', item
    after = int(cluster.psql("SELECT pg_relation_size('fat')", db='app'))
    assert after < before / 2, (before, after)
    assert cluster.psql("SELECT count(*) FROM fat WHERE v = 'w'", db='app') == str(len(waits))
    assert len(waits) > 5 and max(waits) < 1.5, max(waits)
    again = run_module('maintenance', login(cluster), check_mode=True)
    assert again['plan'] == [] and again['changed'] is False


def test_a_held_lock_skips_it(cluster):
    holder = cluster.connect(db='app', autocommit=False)
    try:
        holder.cursor().execute('LOCK TABLE fat IN ACCESS SHARE MODE')
        result = run_module('maintenance', login(cluster))
    finally:
        holder.rollback()
        holder.close()
    [item] = result['plan']
    assert item['status'] == 'skipped' and 'lock not granted' in item['why'], item
    assert [f['id'] for f in result['findings'] if f['severity'] != 'ok'] == ['maintenance.skipped']


def test_without_the_extension_it_says_how_to_install_it(cluster):
    cluster.psql('DROP EXTENSION pg_repack', db='app')
    result = run_module('maintenance', login(cluster))
    [item] = result['plan']
    assert item['status'] == 'skipped' and 'CREATE EXTENSION pg_repack' in item['why'], item
    assert result['changed'] is False


def test_a_missing_program_is_refused_before_anything_runs(cluster):
    cluster.psql("CREATE TABLE stale (id int) WITH (autovacuum_enabled = false);"
                 "INSERT INTO stale SELECT generate_series(1, 5000)", db='app')
    with pytest.raises(ModuleFailed) as err:
        run_module('maintenance', login(cluster, actions=['analyze', 'repack'], repack_bin='/nonexistent/pg_repack'))
    assert 'repack_bin' in err.value.result['msg'] and 'Traceback' not in err.value.result['msg']
    # the ANALYZE it would have run first did not run
    assert cluster.psql("SELECT last_analyze IS NULL FROM pg_stat_user_tables WHERE relname = 'stale'", db='app') == 't'
