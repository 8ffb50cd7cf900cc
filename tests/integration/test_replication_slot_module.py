# SPDX-License-Identifier: GPL-3.0-or-later
"""replication_slot on a real server: check mode, create, idempotence, an active slot refused by name
(pg_receivewal streams through it), an inactive one dropped and its WAL released, an active one
dropped with drop_active (its stream ended first)."""

import subprocess
import tempfile

import pytest

from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module, wait_for


def test_create_refuse_active_and_drop():
    c = PgCluster(settings={'autovacuum': 'off', 'wal_level': 'replica'}).start()
    target = tempfile.mkdtemp(prefix='pgops-wal-')
    receiver = None
    try:
        args = c.login(name='gone_standby')
        planned = run_module('replication_slot', args, check_mode=True, diff=True)
        assert planned['changed'] and planned['diff']['after'] == 'slot gone_standby\n'
        assert c.psql('SELECT count(*) FROM pg_replication_slots') == '0'
        assert run_module('replication_slot', args)['changed']
        assert not run_module('replication_slot', args)['changed']
        assert c.psql("SELECT restart_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'gone_standby'") == 't'

        subprocess.run(['chown', 'postgres', target], check=True)
        receiver = subprocess.Popen(c._cmd([c.bin('pg_receivewal'), '-h', c.socket_dir, '-p', str(c.port), '-U',
                                            'postgres', '-D', target, '--slot', 'gone_standby', '--no-loop']),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: c.psql("SELECT active FROM pg_replication_slots") == 't', timeout=10)
        with pytest.raises(ModuleFailed) as err:
            run_module('replication_slot', dict(args, state='absent'))
        assert 'is active' in err.value.result['msg'] and 'drop_active=true' in err.value.result['msg']
        receiver.terminate()
        receiver.wait(10)
        assert wait_for(lambda: c.psql("SELECT active FROM pg_replication_slots") == 'f', timeout=10)

        c.psql('CREATE TABLE t AS SELECT g FROM generate_series(1, 100000) g; SELECT pg_switch_wal();')
        dropped = run_module('replication_slot', dict(args, state='absent'))
        assert dropped['changed'] and dropped['slot']['retained_bytes'] > 0 and 'dropped slot' in dropped['msg']
        assert c.psql('SELECT count(*) FROM pg_replication_slots') == '0'
        assert not run_module('replication_slot', dict(args, state='absent'))['changed']

        # drop_active: the stream is ended, then the slot dropped
        assert run_module('replication_slot', args)['changed']
        receiver = subprocess.Popen(c._cmd([c.bin('pg_receivewal'), '-h', c.socket_dir, '-p', str(c.port), '-U',
                                            'postgres', '-D', target, '--slot', 'gone_standby', '--no-loop']),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: c.psql("SELECT active FROM pg_replication_slots") == 't', timeout=10)
        forced = dict(args, state='absent', drop_active=True)
        planned = run_module('replication_slot', forced, check_mode=True)
        assert planned['changed'] and planned['msg'].startswith('would have dropped slot gone_standby')
        assert c.psql("SELECT active FROM pg_replication_slots") == 't'
        dropped = run_module('replication_slot', forced)
        assert dropped['changed'] and 'the stream of pid %s was ended' % planned['slot']['active_pid'] in dropped['msg']
        assert c.psql('SELECT count(*) FROM pg_replication_slots') == '0'
        assert receiver.wait(10) is not None
        with pytest.raises(ModuleFailed) as err:
            run_module('replication_slot', c.login(name='Bad-Name"'))
        assert "parameter 'name'" in err.value.result['msg']
    finally:
        if receiver and receiver.poll() is None:
            receiver.kill()
        c.destroy()
        subprocess.run(['rm', '-rf', target], check=False)
