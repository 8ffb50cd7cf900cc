# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_service with pg_ctl on a real cluster: check mode, run, idempotence."""

import pytest

from tests.harness.pgcluster import ModuleFailed, run_module


def svc(c, state, check=False, **extra):
    args = dict(data_dir=c.data_dir, bin_dir=c.bin_dir, state=state, log_file=c.log_file, **extra)
    return run_module('cluster_service', args, check_mode=check, diff=True)


def test_stop_start_in_four_steps(fresh_cluster):
    c = fresh_cluster
    # stop: check mode, real run, idempotence in check mode, idempotence
    planned = svc(c, 'stopped', check=True)
    assert planned['changed'] and planned['action'] == 'stop' and c.is_running()
    assert planned['manager'] == 'pg_ctl'
    done = svc(c, 'stopped')
    assert done['changed'] and done['command'] == planned['command'] and not c.is_running()
    assert done['diff'] == {'before': 'running: True\n', 'after': 'running: False\n'}
    assert not svc(c, 'stopped', check=True)['changed']
    assert not svc(c, 'stopped')['changed']
    # start the same way
    planned = svc(c, 'started', check=True)
    assert planned['changed'] and planned['action'] == 'start' and not c.is_running()
    assert svc(c, 'started')['running'] and c.is_running()
    assert not svc(c, 'started', check=True)['changed']
    assert not svc(c, 'started')['changed']
    assert c.psql('SELECT 1') == '1'


def test_reload_applies_a_sighup_setting(fresh_cluster):
    c = fresh_cluster
    c.psql("ALTER SYSTEM SET log_min_duration_statement = 1234")
    result = svc(c, 'reloaded')
    assert result['changed'] and result['action'] == 'reload'
    assert c.psql('SHOW log_min_duration_statement') == '1234ms'


def test_restart_changes_the_postmaster(fresh_cluster):
    c = fresh_cluster
    before = c.psql('SELECT pg_postmaster_start_time()')
    assert svc(c, 'restarted', stop_mode='fast')['action'] == 'restart'
    assert c.psql('SELECT pg_postmaster_start_time()') != before


def test_reload_of_a_stopped_cluster_fails_clearly(fresh_cluster):
    c = fresh_cluster
    c.stop()
    with pytest.raises(ModuleFailed) as err:
        svc(c, 'reloaded')
    assert 'not running' in err.value.result['msg'] and 'Fix: use state=started' in err.value.result['msg']


def test_not_a_data_directory(tmp_path):
    with pytest.raises(ModuleFailed) as err:
        run_module('cluster_service', dict(data_dir=str(tmp_path), bin_dir='/usr/lib/postgresql/15/bin'))
    assert 'is not a PostgreSQL data directory' in err.value.result['msg']


def test_a_postgresql_16_cluster_is_driven_by_its_own_binaries(tmp_path):
    """No major version is assumed: it comes from PG_VERSION, and missing binaries are named."""
    import os
    from tests.harness.pgcluster import PgCluster, ROOT, usr_lib_postgresql_16
    pg16 = os.path.join(ROOT, 'build', 'pg', '16', 'bin')
    c = PgCluster(bin_dir=pg16).start()
    try:
        assert c.psql('SHOW server_version_num').startswith('16')
        # test_pg_upgrade_debian.py links /usr/lib/postgresql/16 for a while: not while this looks for it
        with usr_lib_postgresql_16():
            if not os.path.isdir('/usr/lib/postgresql/16/bin'):
                # data_dir alone: the Debian path of major 16 is derived, and its absence is the error
                with pytest.raises(ModuleFailed) as err:
                    run_module('cluster_service', dict(data_dir=c.data_dir, state='stopped', log_file=c.log_file))
                msg = err.value.result['msg']
                assert "parameter 'bin_dir'" in msg and '/usr/lib/postgresql/16/bin' in msg and 'postgresql-16' in msg
                assert c.is_running()
        done = svc(c, 'stopped')
        assert done['changed'] and not c.is_running() and os.path.join(pg16, 'pg_ctl') in done['command']
        assert svc(c, 'started')['running'] and c.psql('SHOW server_version_num').startswith('16')
    finally:
        c.destroy()


def test_a_restart_that_can_not_start_says_the_cluster_is_down(fresh_cluster):
    """Fault: the server cannot start again after the stop (a setting it refuses)."""
    import os
    c = fresh_cluster
    with open(os.path.join(c.data_dir, 'postgresql.conf'), 'a') as fh:
        fh.write("\nshared_preload_libraries = 'no_such_library'\n")
    with pytest.raises(ModuleFailed) as err:
        svc(c, 'restarted')
    result = err.value.result
    assert 'The cluster was running before and is stopped now.' in result['msg'], result['msg']
    assert result['changed'] is True and result['running'] is False and not c.is_running()


@pytest.mark.parametrize('state,before,running,changed', [
    ('stopped', True, False, True),
    ('started', False, True, True),
    ('restarted', True, True, True),
    ('reloaded', True, True, True),
])
def test_a_step_that_fails_after_acting_says_the_state(fresh_cluster, state, before, running, changed):
    """The action ran, then its step reported a failure (a timeout, a lost connection): the message
    says the state before and now, and changed tells whether clients saw a change."""
    c = fresh_cluster
    if not before:
        c.stop()
    args = dict(data_dir=c.data_dir, bin_dir=c.bin_dir, state=state, log_file=c.log_file)
    with pytest.raises(ModuleFailed) as err:
        run_module('cluster_service', args, env={'PGOPS_FAULT_AT': '1'})
    result = err.value.result
    assert 'injected fault' in result['msg'] and result['running'] is running and c.is_running() is running
    assert 'The cluster was %s before and is %s now.' % ('running' if before else 'stopped',
                                                         'running' if running else 'stopped') in result['msg']
    assert result['changed'] is changed
