# SPDX-License-Identifier: GPL-3.0-or-later
"""pool_check against a real pgbouncer 1.18 in front of a real cluster: quiet pools raise nothing; five
clients on a pool of two raise, once each, clients waiting, the wait, the saturation and (with its
threshold lowered) the client connections; the stats login can read and nothing more."""

import threading
import time

import psycopg2
import pytest

from tests.harness.pgbouncer import PgBouncer
from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module


@pytest.fixture(scope='module')
def bouncer():
    c = PgCluster().start()
    b = PgBouncer(c, pool_size=2, pool_mode='session', max_client_conn=10)
    yield b
    b.destroy()
    c.destroy()


def raised(result):
    return sorted((f['id'], f['severity'], f['object']) for f in result['findings'] if f['severity'] != 'ok')


def test_quiet_pools_raise_nothing_in_four_commands(bouncer):
    conn = bouncer.connect()
    conn.cursor().execute('SELECT 1')
    conn.close()
    result = run_module('pool_check', bouncer.login(instance='app'))
    assert raised(result) == [], result['findings']
    assert result['queries'] == ['SHOW POOLS', 'SHOW DATABASES', 'SHOW LISTS', 'SHOW CONFIG']
    assert result['round_trips'] == 4
    [pool] = [p for p in result['metrics']['pools'] if p['database'] == 'postgres']
    assert pool['pool_size'] == 2 and pool['cl_waiting'] == 0 and result['metrics']['max_client_conn'] == 10


def test_more_clients_than_the_pool(bouncer):
    done = []

    def client():
        conn = bouncer.connect()
        conn.cursor().execute('SELECT pg_sleep(4)')
        conn.close()
        done.append(1)
    threads = [threading.Thread(target=client) for dummy in range(5)]
    for t in threads:
        t.start()
    time.sleep(2)
    result = run_module('pool_check', bouncer.login(instance='app', thresholds={'client_conn_warning_pct': 50}))
    for t in threads:
        t.join()
    assert len(done) == 5
    assert raised(result) == [
        ('pool.client_connections', 'warning', 'app: pgbouncer'),
        ('pool.clients_waiting', 'warning', 'app: postgres/postgres'),
        ('pool.maxwait', 'warning', 'app: postgres/postgres'),
        ('pool.saturation', 'warning', 'app: postgres/postgres')], result['findings']
    by = dict((f['id'], f) for f in result['findings'])
    assert by['pool.clients_waiting']['observed'].startswith('3 client(s) waiting, 2 active, 2 of 2')
    assert by['pool.client_connections']['observed'].startswith('6 of 10')  # five clients and the check itself


def test_the_stats_login_reads_and_can_not_act(bouncer):
    conn = bouncer.connect('pgbouncer', 'monitor')
    with pytest.raises(psycopg2.Error) as err:
        conn.cursor().execute('PAUSE')
    assert 'admin access needed' in str(err.value)
    conn.close()


def test_a_wrong_port_is_named(bouncer):
    with pytest.raises(ModuleFailed) as err:
        run_module('pool_check', bouncer.login(login_port=1, connect_timeout=2))
    msg = err.value.result['msg']
    assert msg.startswith('cannot connect to pgbouncer at 127.0.0.1:1') and 'Traceback' not in msg
