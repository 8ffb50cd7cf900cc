# SPDX-License-Identifier: GPL-3.0-or-later
"""Log review from tables of entries: each signal raises its finding, once."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import logs

TH = logs.REGISTRY.defaults()


def e(level, message, **extra):
    return dict(extra, level=level, message=message, time='2026-12-03 06:00:00 UTC')


CASES = [
    ([e('LOG', 'checkpoints are occurring too frequently (9 seconds apart)')], [('log.checkpoints', 'warning')]),
    ([e('LOG', 'temporary file: path "base/pgsql_tmp/pgsql_tmp1.0", size 2147483648')], [('log.temp_files', 'warning')]),
    ([e('LOG', 'temporary file: path "base/pgsql_tmp/pgsql_tmp1.0", size 1024')], []),
    ([e('LOG', 'process 12 still waiting for ShareLock on transaction 77 after 6000.5 ms')],
     [('log.lock_waits', 'warning')]),
    ([e('LOG', 'duration: 61000.1 ms  statement: SELECT pg_sleep(61)')], [('log.slow_statements', 'warning')]),
    ([e('LOG', 'duration: 12.1 ms  statement: SELECT 1')], []),
    ([e('LOG', 'automatic vacuum of table "app.public.t": index scans: 1\nsystem usage: CPU: user: 1.0 s, '
               'elapsed: 4000.2 s')], [('log.autovacuum', 'warning')]),
    ([e('ERROR', 'out of memory', sqlstate='53200')], [('log.resources', 'critical')]),
    ([e('LOG', 'could not fork autovacuum worker process: Resource temporarily unavailable')],
     [('log.resources', 'critical')]),
    ([e('LOG', 'archive command failed with exit code 1')], [('log.replication', 'warning')]),
    ([e('PANIC', 'could not write to file "pg_wal/xlogtemp.1": No space left on device')],
     [('log.fatal', 'critical'), ('log.resources', 'critical')]),
    ([e('FATAL', 'password authentication failed for user "app"', client='10.0.0.9', user='app')] * 10,
     [('log.auth_failures', 'warning')]),
    ([e('FATAL', 'password authentication failed for user "app"', client='10.0.0.9', user='app')] * 3,
     [('log.auth_failures', 'info')]),
    # a backend killed: the postmaster restarts the server without a PANIC; refused logins are part of it
    ([e('LOG', 'server process (PID 4242) was terminated by signal 9: Killed'),
      e('LOG', 'terminating any other active server processes'),
      e('WARNING', 'terminating connection because of crash of another server process', sqlstate='57P02'),
      e('LOG', 'all server processes terminated; reinitializing'),
      e('FATAL', 'the database system is in recovery mode', sqlstate='57P03'),
      e('FATAL', 'the database system is starting up'),
      e('LOG', 'database system is ready to accept connections')], [('log.crash_restart', 'critical')]),
    ([e('LOG', 'background worker "logical replication launcher" (PID 9) exited with exit code 1'),
      e('LOG', 'shutting down because restart_after_crash is off')], [('log.crash_restart', 'critical')]),
    # a clean restart is no crash, and a worker that exits with 0 neither
    ([e('LOG', 'received fast shutdown request'), e('LOG', 'database system is shut down'),
      e('FATAL', 'the database system is shutting down', sqlstate='57P03'),
      e('LOG', 'background worker "x" (PID 9) exited with exit code 0'),
      e('LOG', 'database system is ready to accept connections')], []),
]


def test_a_crash_restart_names_its_cause_and_counts_refused_logins():
    facts = logs.summarise(CASES[-3][0])
    facts['config_problems'] = []
    f = [f for f in logs.REGISTRY.evaluate(facts, TH) if f['id'] == 'log.crash_restart'][0]
    assert f['observed'].startswith('1 crash restart(s)') and '2 connection(s) refused' in f['observed']
    assert 'terminated by signal 9' in f['observed'] and facts['refused_connections'] == 2


@pytest.mark.parametrize('entries,expected', CASES)
def test_each_signal_raises_its_finding(entries, expected):
    facts = logs.summarise(entries)
    facts['config_problems'] = []
    found = sorted((f['id'], f['severity']) for f in logs.REGISTRY.evaluate(facts, TH) if f['severity'] != 'ok')
    assert found == sorted(expected)
