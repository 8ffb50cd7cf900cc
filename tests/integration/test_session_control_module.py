# SPDX-License-Identifier: GPL-3.0-or-later
"""session_control on a real server: a session idle in a transaction, found in check mode, ended for real,
then nothing left to do; superusers and a too-wide filter are refused by name."""

import os
import subprocess
import time
import uuid

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module, wait_for


@pytest.fixture(scope='module')
def server():
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    c.psql("CREATE ROLE app LOGIN PASSWORD 'app-secret'")
    yield c
    c.destroy()


def _idle(c, user='app', password='app-secret'):
    """A client that opens a transaction and then waits (as a stuck application does); waited for by its
    own application name, so that clients started one after another do not count each other."""
    name = 'stuck-%s' % uuid.uuid4().hex[:8]
    env = dict(os.environ, PGPASSWORD=password, PGAPPNAME=name)
    proc = subprocess.Popen(['sh', '-c', '(echo "BEGIN; SELECT txid_current();"; sleep 120) | %s -X -q -h 127.0.0.1 -p %d '
                             '-U %s postgres' % (c.bin('psql'), c.port, user)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: c.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' AND state = "
                                   "'idle in transaction'" % name) == '1', timeout=10)
    return proc


def test_an_idle_transaction_is_ended_and_check_mode_only_lists_it(server):
    c = server
    proc = _idle(c)
    try:
        time.sleep(1.2)
        args = c.login(states=['idle in transaction'], min_state_seconds=1)
        planned = run_module('session_control', args, check_mode=True, diff=True)
        assert planned['changed'] and planned['acted'] == [] and len(planned['sessions']) == 1
        pid = planned['sessions'][0]['pid']
        assert planned['sessions'][0]['usename'] == 'app' and 'app@postgres idle in transaction' in planned['diff']['before']
        assert c.psql('SELECT count(*) FROM pg_stat_activity WHERE pid = %d' % pid) == '1'
        done = run_module('session_control', args)
        assert done['changed'] and done['acted'] == [pid] and done['still_there'] == []
        assert c.psql('SELECT count(*) FROM pg_stat_activity WHERE pid = %d' % pid) == '0'
        again = run_module('session_control', args)
        assert not again['changed'] and again['msg'] == 'no session matches'
    finally:
        proc.kill()


def test_superusers_and_wide_filters_are_refused_by_name(server):
    c = server
    proc = _idle(c, user='postgres', password='pgops-test')
    others = [_idle(c) for dummy in range(2)]
    try:
        left = run_module('session_control', c.login(states=['idle in transaction'], users=['postgres']))
        assert not left['changed'] and len(left['protected']) == 1 and 'include_superusers' in left['msg']
        with pytest.raises(ModuleFailed) as err:
            run_module('session_control', c.login(states=['idle in transaction'], max_sessions=1))
        assert 'more than max_sessions 1' in err.value.result['msg']
        assert c.psql("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'") == '3'
        with pytest.raises(ModuleFailed) as err:
            run_module('session_control', c.login())
        assert 'no filter is given' in err.value.result['msg']
        gone = run_module('session_control', c.login(states=['idle in transaction'], users=['postgres'],
                                                     include_superusers=True, action='terminate'))
        assert gone['changed'] and len(gone['acted']) == 1
    finally:
        for p in [proc] + others:
            p.kill()
