# SPDX-License-Identifier: GPL-3.0-or-later
"""log_review against a real PostgreSQL 15 cluster writing its own log (logging_collector on):
an error burst, a FATAL, password guessing from one address, each counted once across runs, a log
rotation in the middle (the rotated file then compressed), and the csvlog and jsonlog formats."""

import glob
import gzip
import os
import shutil

import psycopg2
import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module, wait_for

PREFIX = '%m [%p] %q%u@%d %h '


@pytest.fixture()
def cluster():
    c = PgCluster(settings={'logging_collector': 'on', 'log_directory': 'log', 'log_filename': 'pg-%Y%m%d-%H%M%S.log',
                            'log_line_prefix': PREFIX, 'log_connections': 'on', 'log_destination': 'stderr'}).start()
    yield c
    c.destroy()


def review(c, **extra):
    return run_module('log_review', c.login(**extra))


def errors(c, n, table='nosuch'):
    for dummy in range(n):
        try:
            c.psql('SELECT * FROM %s' % table)
        except Exception:  # noqa: BLE001 - the error is the point
            pass


def bad_logins(c, n, user='app'):
    for dummy in range(n):
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(host='127.0.0.1', port=c.port, user=user, password='guess', dbname='postgres',
                             connect_timeout=5)


def logged(c, text, count):
    return wait_for(lambda: sum(open(p, errors='replace').read().count(text)
                                for p in glob.glob(os.path.join(c.data_dir, 'log', '*'))
                                if not p.endswith('.gz')) >= count, 10)


def ids(result):
    return sorted((f['id'], f['severity'], f['object']) for f in result['findings'] if f['severity'] != 'ok')


def test_errors_fatal_and_guessing_each_counted_once_across_runs_and_a_rotation(cluster):
    c = cluster
    errors(c, 120)
    bad_logins(c, 12)
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host=c.socket_dir, port=c.port, user='postgres', dbname='nosuchdb')
    assert logged(c, 'relation "nosuch" does not exist', 120) and logged(c, 'password authentication failed', 12)
    first = review(c)
    assert ids(first) == [
        ('log.auth_failures', 'warning', '127.0.0.1'),
        ('log.errors', 'warning', 'SQLSTATE class ?'),
        ('log.fatal', 'warning', 'FATAL ?')], first['findings']
    by = dict((f['id'], f) for f in first['findings'])
    assert by['log.errors']['observed'].startswith('120 x "relation ? does not exist"')
    assert by['log.auth_failures']['observed'].startswith('12 failure(s) for app')
    assert 'database ? does not exist' in by['log.fatal']['observed']
    assert first['metrics']['errors'] >= 121 and first['round_trips'] == 2

    # nothing new: nothing found, nothing read again
    again = review(c, cursor=first['next_cursor'])
    assert ids(again) == [] and again['metrics']['entries'] <= 2, again['metrics']

    # 6 errors, a rotation, 7 errors; the rotated file is compressed and renamed: 13 errors, once
    errors(c, 6, 'gone_before')
    assert logged(c, 'relation "gone_before" does not exist', 6)
    old = sorted(glob.glob(os.path.join(c.data_dir, 'log', '*.log')))[-1]
    c.psql('SELECT pg_rotate_logfile()')
    assert wait_for(lambda: len(glob.glob(os.path.join(c.data_dir, 'log', '*.log'))) == 2, 10)
    errors(c, 7, 'gone_after')
    assert logged(c, 'relation "gone_after" does not exist', 7)
    with open(old, 'rb') as src, gzip.open(old + '.1.gz', 'wb') as dst:
        shutil.copyfileobj(src, dst)
    os.unlink(old)
    third = review(c, cursor=again['next_cursor'])
    found = dict((f['id'], f) for f in third['findings'] if f['severity'] != 'ok')
    assert list(found) == ['log.errors'], third['findings']
    assert found['log.errors']['observed'].startswith('13 x "relation ? does not exist"'), found['log.errors']
    # and the compressed file, read already, is not read again
    fourth = review(c, cursor=third['next_cursor'])
    assert ids(fourth) == [] and fourth['metrics']['errors'] == 0


@pytest.mark.parametrize('destination,ext', [('csvlog', 'csv'), ('jsonlog', 'json')])
def test_csvlog_and_jsonlog(cluster, destination, ext):
    c = cluster
    start = review(c)
    c.psql("ALTER SYSTEM SET log_destination = '%s'; SELECT pg_reload_conf()" % destination)
    assert wait_for(lambda: glob.glob(os.path.join(c.data_dir, 'log', '*.' + ext)), 10)
    errors(c, 8, 'in_%s' % ext)
    assert wait_for(lambda: sum(open(p, errors='replace').read().count('in_%s' % ext)
                                for p in glob.glob(os.path.join(c.data_dir, 'log', '*.' + ext))) >= 8, 10)
    result = review(c, cursor=start['next_cursor'], thresholds={'error_min_count': 5})
    [f] = [f for f in result['findings'] if f['id'] == 'log.errors']
    assert f['object'] == 'SQLSTATE class 42' and f['observed'].startswith('8 x "relation ? does not exist"'), f


def test_settings_that_hide_things_are_named():
    c = PgCluster(settings={'logging_collector': 'on', 'log_directory': 'log', 'log_line_prefix': '%m ',
                            'log_connections': 'off'}).start()
    try:
        result = run_module('log_review', c.login())
        [f] = [f for f in result['findings'] if f['id'] == 'log.configuration']
        assert 'lacks user, database, client' in f['observed'] and 'log_connections is off' in f['observed']
    finally:
        c.destroy()


def test_without_the_collector_the_files_are_asked_for():
    c = PgCluster().start()
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('log_review', c.login())
        assert 'log_files' in err.value.result['msg'] and 'Traceback' not in err.value.result['msg']
        result = run_module('log_review', c.login(log_files=[c.log_file]))
        assert result['metrics']['files'] == 1
    finally:
        c.destroy()


def test_pgaudit_review():
    c = PgCluster(settings={'logging_collector': 'on', 'log_directory': 'log', 'log_line_prefix': PREFIX,
                            'log_connections': 'on', 'shared_preload_libraries': 'pgaudit',
                            'pgaudit.log': 'ddl,role,read', 'pgaudit.log_relation': 'on'}).start()
    try:
        c.psql('CREATE EXTENSION pgaudit')
        c.psql("CREATE ROLE dba LOGIN SUPERUSER; CREATE ROLE intruder LOGIN SUPERUSER;"
               "CREATE TABLE cards (id int, pan text); CREATE TABLE notes (id int)")
        c.psql('CREATE TABLE sneaky (id int); GRANT SELECT ON cards TO dba', user='intruder')
        c.psql('SELECT * FROM cards; SELECT * FROM notes', user='dba')
        assert logged(c, 'AUDIT: SESSION', 6)
        args = dict(audit_expected_roles=['postgres', 'dba'], sensitive_tables=['public.cards'])
        found = dict(((f['id'], f['object']), f) for f in review(c, **args)['findings'] if f['severity'] != 'ok')
        assert sorted(found) == [('log.audit_changes', 'server'), ('log.audit_privileges', 'server'),
                                 ('log.audit_sensitive_read', 'public.cards'),
                                 ('log.audit_unexpected_role', 'intruder@postgres')], sorted(found)
        unexpected = found[('log.audit_unexpected_role', 'intruder@postgres')]
        assert unexpected['severity'] == 'warning' and 'CREATE TABLE public.sneaky x1' in unexpected['observed']
        assert 'GRANT - x1' in unexpected['observed'] and unexpected['observed'].startswith('2 change(s)')
        assert 'GRANT' in found[('log.audit_privileges', 'server')]['observed']
        assert 'dba@postgres' in found[('log.audit_sensitive_read', 'public.cards')]['observed']
        # a window that excludes now makes every change outside it; one that spans the day, none
        outside = review(c, change_windows=[{'start': '00:00', 'end': '00:01', 'days': ['sun']}])
        assert [f['object'] for f in outside['findings'] if f['id'] == 'log.audit_outside_window'] == [
            'intruder@postgres', 'postgres@postgres']
        inside = review(c, change_windows=[{'start': '00:00', 'end': '24:00'}])
        assert not [f for f in inside['findings'] if f['id'] == 'log.audit_outside_window' and f['severity'] != 'ok']
        with pytest.raises(ModuleFailed) as err:
            review(c, change_windows=[{'start': '22:00', 'end': '02:00'}])
        assert 'change_windows[0]' in err.value.result['msg']
    finally:
        c.destroy()


def test_a_crash_restart_without_a_panic_is_found_once(cluster):
    """kill -9 of one backend: the postmaster ends every session, runs crash recovery and accepts
    connections again; no PANIC is written, yet the review names the crash, once."""
    c = cluster
    start = review(c)
    conn = psycopg2.connect(host=c.socket_dir, port=c.port, user='postgres', dbname='postgres')
    try:
        victim = conn.get_backend_pid()
        os.kill(victim, 9)
        assert logged(c, 'all server processes terminated; reinitializing', 1)
        assert wait_for(lambda: logged(c, 'database system is ready to accept connections', 2), 30)
    finally:
        try:
            conn.close()
        except psycopg2.Error:
            pass
    assert wait_for(lambda: c.psql('SELECT 1').strip() == '1', 30)
    result = review(c, cursor=start['next_cursor'])
    assert ids(result) == [('log.crash_restart', 'critical', 'server')], result['findings']
    [f] = [f for f in result['findings'] if f['id'] == 'log.crash_restart']
    assert f['observed'].startswith('1 crash restart(s)') and '(PID %d) was terminated by signal 9' % victim in f['observed']
    assert result['metrics']['crash_restarts'] == 1
    again = review(c, cursor=result['next_cursor'])
    assert ids(again) == [], again['findings']
