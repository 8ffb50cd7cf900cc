# SPDX-License-Identifier: GPL-3.0-or-later
"""pool_control against a real pgbouncer 1.18 in front of two real clusters: PAUSE holds a client's
query until RESUME (check mode, run, idempotence each way); a transaction that outlasts pause_timeout
leaves the pooler running; the console login without a password as the user pgbouncer runs as;
retarget moves the pools to the other cluster, and a failure injected after each of its steps puts
the previous file back with pgbouncer serving the first cluster again."""

import os
import threading
import time

import pytest

from tests.harness.pgbouncer import PgBouncer
from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module


@pytest.fixture(scope='module')
def two():
    a, b = PgCluster().start(), PgCluster().start()
    yield a, b
    a.destroy()
    b.destroy()


@pytest.fixture
def bouncer(two):
    b = PgBouncer(two[0], pool_size=2, pool_mode='transaction')
    yield b
    b.destroy()


def admin(b, **extra):
    return b.login(login_user='postgres', instance='app', **extra)


def served_port(b):
    conn = b.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_setting('port')::int")
        return cur.fetchone()[0]
    finally:
        conn.close()


def timed_query(b, out):
    t0 = time.time()
    out['port'] = served_port(b)
    out['seconds'] = time.time() - t0


def test_pause_holds_queries_until_resume(bouncer, two):
    served_port(bouncer)
    plan = run_module('pool_control', admin(bouncer, action='pause'), check_mode=True)
    assert plan['changed'] and plan['commands'] == ['PAUSE']
    done = run_module('pool_control', admin(bouncer, action='pause'))
    assert done['changed'] and done['paused'] and done['commands'] == ['PAUSE']
    again = run_module('pool_control', admin(bouncer, action='pause'))
    assert not again['changed'] and again['paused']
    out = {}
    client = threading.Thread(target=timed_query, args=(bouncer, out))
    client.start()
    time.sleep(1.5)
    assert client.is_alive(), 'the query went through a paused pooler'
    resumed = run_module('pool_control', admin(bouncer, action='resume'))
    client.join(10)
    assert resumed['changed'] and not resumed['paused']
    assert out['port'] == two[0].port and out['seconds'] >= 1.4
    assert not run_module('pool_control', admin(bouncer, action='resume'))['changed']


def test_a_long_transaction_outlasts_the_pause(bouncer):
    holder = bouncer.connect()
    holder.autocommit = False
    holder.cursor().execute('SELECT 1')  # a transaction holds a server connection
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('pool_control', admin(bouncer, action='pause', pause_timeout=1))
        msg = err.value.result['msg']
        assert 'did not complete in 1 s' in msg and 'postgres/postgres: 1 active' in msg and 'resumed' in msg
        assert err.value.result['commands'] == ['PAUSE', 'SHOW POOLS', 'RESUME']
        out = {}
        timed_query(bouncer, out)  # not held: the pooler runs
        assert out['seconds'] < 1
    finally:
        holder.rollback()
        holder.close()


def test_the_console_as_the_user_pgbouncer_runs_as(bouncer):
    # the harness runs clusters as postgres from root (make test runs as root): never skipped
    assert os.geteuid() == 0, 'run the tests as root: the module takes the identity of postgres'
    args = dict(action='pause', instance='app', login_unix_socket=bouncer.base, login_port=bouncer.port,
                login_user='pgbouncer', os_user='postgres')
    assert run_module('pool_control', args)['changed']
    assert run_module('pool_control', dict(args, action='resume'))['changed']
    with pytest.raises(ModuleFailed) as err:  # as root, the same login has no password to give
        run_module('pool_control', dict(args, os_user=None, connect_timeout=3))
    assert 'cannot connect to pgbouncer' in err.value.result['msg']


def test_retarget_moves_the_pools(bouncer, two):
    a, b = two
    assert served_port(bouncer) == a.port
    run_module('pool_control', admin(bouncer, action='pause'))
    args = admin(bouncer, action='retarget', config_file=bouncer.ini, server_host=b.socket_dir,
                 server_port=b.port, resume=True)
    before = open(bouncer.ini).read()
    plan = run_module('pool_control', args, check_mode=True, diff=True)
    assert plan['changed'] and plan['commands'] == ['RELOAD', 'SHOW DATABASES', 'RESUME']
    assert plan['entries'] == ['*'] and 'port=%d' % b.port in plan['diff']['after']
    assert open(bouncer.ini).read() == before
    done = run_module('pool_control', args)
    assert done['changed'] and done['paused'] is False
    assert [s['step'] for s in done['steps']] == ['write %s' % bouncer.ini, 'RELOAD', 'verify', 'RESUME']
    assert [(d['host'], d['port']) for d in done['databases']] == [(b.socket_dir, b.port)]
    assert served_port(bouncer) == b.port
    again = run_module('pool_control', args)
    assert not again['changed'] and again['commands'] == ['SHOW DATABASES', 'RESUME']


@pytest.mark.parametrize('fault', ['1', 'RELOAD', 'verify', 'RESUME'])
def test_a_failed_retarget_puts_the_file_back(bouncer, two, fault):
    a, b = two
    served_port(bouncer)
    before = open(bouncer.ini).read()
    run_module('pool_control', admin(bouncer, action='pause'))
    args = admin(bouncer, action='retarget', config_file=bouncer.ini, server_host=b.socket_dir,
                 server_port=b.port, resume=True)
    with pytest.raises(ModuleFailed) as err:
        run_module('pool_control', args, env={'PGOPS_FAULT_AT': fault})
    msg = err.value.result['msg']
    assert 'injected fault' in msg and 'the previous file is back and reloaded' in msg, msg
    assert err.value.result['changed'] is True
    assert open(bouncer.ini).read() == before
    run_module('pool_control', admin(bouncer, action='resume'))
    assert served_port(bouncer) == a.port


@pytest.mark.parametrize('args, param', [
    (dict(server_host='db2 port=1'), 'server_host'),
    (dict(server_host="db2'\nhost=evil"), 'server_host'),
    (dict(server_port=70000), 'server_port'),
    (dict(config_file='/nonexistent/app.ini'), 'config_file'),
    (dict(pause_timeout=0), 'pause_timeout'),
])
def test_bad_input_is_named(bouncer, two, args, param):
    base = admin(bouncer, action='retarget', config_file=bouncer.ini, server_host='db2', server_port=5432)
    base.update(args)
    before = open(bouncer.ini).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('pool_control', base)
    msg = err.value.result['msg']
    assert "parameter '%s'" % param in msg and 'Fix:' in msg and 'Traceback' not in msg
    assert open(bouncer.ini).read() == before
