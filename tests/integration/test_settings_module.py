# SPDX-License-Identifier: GPL-3.0-or-later
"""settings module on a real cluster: validation up front, reload vs restart from pg_settings."""

import os

import pytest

from tests.harness.faults import each_step_fails
from tests.harness.pgcluster import ModuleFailed, run_module


def args(c, settings, **extra):
    a = c.login(path=os.path.join(c.conf_d, '00-pgops.conf'), settings=settings, data_dir=c.data_dir,
                bin_dir=c.bin_dir, owner='postgres', group='postgres')
    a.update(extra)
    return a


def started(c):
    return c.psql('SELECT pg_postmaster_start_time()')


def test_reload_only_setting_in_four_steps(fresh_cluster):
    c = fresh_cluster
    t0 = started(c)
    a = args(c, {'log_min_duration_statement': '250ms', 'work_mem': '16MB', 'log_connections': True})
    planned = run_module('settings', a, check_mode=True, diff=True)
    assert planned['changed'] and planned['action'] == 'reload'
    assert planned['changed_settings'] == ['log_connections', 'log_min_duration_statement', 'work_mem']
    assert not os.path.exists(a['path'])
    assert "work_mem = '16MB'" in planned['diff']['after']
    done = run_module('settings', a)
    assert (done['changed'], done['action'], done['restarted']) == (True, 'reload', False)
    assert c.psql('SHOW log_min_duration_statement') == '250ms'
    assert c.psql('SHOW work_mem') == '16MB'
    assert started(c) == t0
    assert not run_module('settings', a, check_mode=True)['changed']
    assert not run_module('settings', a)['changed']


def test_restart_only_when_a_postmaster_setting_changes(fresh_cluster):
    c = fresh_cluster
    t0 = started(c)
    done = run_module('settings', args(c, {'shared_buffers': '48MB', 'work_mem': '8MB'}))
    assert done['action'] == 'restart' and done['restart_settings'] == ['shared_buffers'] and done['restarted']
    assert c.psql('SHOW shared_buffers') == '48MB'
    assert started(c) != t0


def test_deferred_restart_is_reported_not_done(fresh_cluster):
    c = fresh_cluster
    t0 = started(c)
    done = run_module('settings', args(c, {'max_connections': 50}, allow_restart=False))
    assert done['pending_restart'] == ['max_connections'] and not done['restarted']
    assert [f['id'] for f in done['findings']] == ['settings.pending_restart']
    assert started(c) == t0
    assert c.psql("SELECT pending_restart FROM pg_settings WHERE name = 'max_connections'") == 't'
    health = run_module('health_check', c.login(checks=['pending_restart']))
    assert [f['severity'] for f in health['findings']] == ['warning']


@pytest.mark.parametrize('settings,words', [
    ({'shared_bufers': '1GB'}, "unknown setting 'shared_bufers' (did you mean 'shared_buffers'?)"),
    ({'work_mem': 'lots'}, "parameter 'settings.work_mem'"),
    ({'work_mem': '5min'}, 'units of'),
    ({'checkpoint_timeout': '10GB'}, 'units of'),
    ({'max_connections': 0}, 'between 1 and'),
    ({'log_connections': 'maybe'}, 'on or off'),
    ({'ssl_min_protocol_version': 'TLSv9'}, 'one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3'),
    ({'data_directory': '/tmp'}, 'can not be set in a drop-in'),
    ({'block_size': 16384}, 'fixed when the server is built'),
])
def test_bad_settings_are_refused_before_anything_changes(cluster, settings, words):
    a = args(cluster, dict(settings, work_mem='4MB') if 'work_mem' not in settings else settings)
    with pytest.raises(ModuleFailed) as err:
        run_module('settings', a)
    assert words in err.value.result['msg'] and 'Fix:' in err.value.result['msg']
    assert not os.path.exists(a['path'])


def test_value_the_server_rejects_is_rolled_back(fresh_cluster):
    c = fresh_cluster
    a = args(c, {'work_mem': '8MB'})
    run_module('settings', a)
    before = open(a['path']).read()
    # a string setting passes validation; the server's own parser rejects the time zone
    a['settings'] = {'work_mem': '16MB', 'TimeZone': 'Mars/Olympus_Mons'}
    with pytest.raises(ModuleFailed) as err:
        run_module('settings', a)
    assert 'the server rejected' in err.value.result['msg'] and 'TimeZone' in err.value.result['msg']
    assert open(a['path']).read() == before
    assert c.psql('SHOW work_mem') == '8MB'
    a['settings'] = {'work_mem': '16MB', 'timezone': 'UTC'}
    assert run_module('settings', a)['action'] == 'reload'
    assert c.psql('SHOW TimeZone') == 'UTC'


def test_file_outside_the_include_dir_is_undone(fresh_cluster, tmp_path):
    c = fresh_cluster
    a = args(c, {'work_mem': '8MB'}, path=str(tmp_path / 'nowhere.conf'))
    with pytest.raises(ModuleFailed) as err:
        run_module('settings', a)
    assert 'does not read' in err.value.result['msg']
    assert not os.path.exists(a['path'])


def test_a_restart_the_server_can_not_survive_is_put_back(fresh_cluster):
    """Fault: the new file stops the server from starting (unknown library): the previous file
    comes back and the server runs again."""
    c = fresh_cluster
    first = args(c, {'work_mem': '8MB'})
    run_module('settings', first)
    before = open(first['path']).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('settings', args(c, {'work_mem': '8MB', 'shared_preload_libraries': 'no_such_library'},
                                    service_manager='pg_ctl'))
    msg = err.value.result['msg']
    assert 'restart with the new settings failed' in msg and 'Put back: the previous' in msg, msg
    assert 'started again with its previous settings and runs' in msg, msg
    assert open(first['path']).read() == before
    assert c.is_running() and c.psql('SHOW shared_preload_libraries') == ''


def test_a_login_that_can_not_check_the_file_changes_nothing(fresh_cluster):
    c = fresh_cluster
    c.psql("CREATE ROLE watcher LOGIN PASSWORD 'w'; GRANT pg_monitor TO watcher")
    a = args(c, {'work_mem': '12MB'}, login_user='watcher')
    with pytest.raises(ModuleFailed) as err:
        run_module('settings', a)
    assert 'can not read pg_file_settings' in err.value.result['msg']
    assert 'Nothing was changed' in err.value.result['msg']
    assert not os.path.exists(a['path'])


def test_a_deferred_restart_is_not_forgotten(fresh_cluster):
    c = fresh_cluster
    t0 = started(c)
    deferred = args(c, {'max_connections': 45}, allow_restart=False, service_manager='pg_ctl')
    first = run_module('settings', deferred)
    assert first['changed'] and first['pending_restart'] == ['max_connections'] and not first['restarted']
    again = run_module('settings', deferred)
    assert again['changed'] is False and again['pending_restart'] == ['max_connections'], again
    assert again['findings'][0]['id'] == 'settings.pending_restart'
    # allowed now: the pending change is applied although the file does not change
    allowed = dict(deferred, allow_restart=True)
    assert run_module('settings', allowed, check_mode=True)['changed'] is True
    done = run_module('settings', allowed)
    assert done['changed'] and done['restarted'] and done['pending_restart'] == []
    assert c.psql('SHOW max_connections') == '45' and started(c) != t0
    assert run_module('settings', allowed)['changed'] is False


def _settings_state(c, path, names):
    def snapshot():
        running = c.is_running()
        values = dict((n, c.psql('SHOW %s' % n)) for n in names) if running else None
        pending = c.psql('SELECT string_agg(name, \',\') FROM pg_settings WHERE pending_restart') if running else None
        return dict(file=read(path), running=running, values=values, pending=pending)
    return snapshot


def read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except FileNotFoundError:
        return None


@pytest.mark.parametrize('settings,steps', [
    ({'work_mem': '24MB', 'log_connections': True}, 3),      # write, check, reload
    ({'shared_buffers': '40MB', 'work_mem': '12MB'}, 4),     # write, check, reload, restart
])
def test_each_step_fails_in_turn_and_is_put_back(fresh_cluster, settings, steps):
    c = fresh_cluster
    run_module('settings', args(c, {'work_mem': '6MB'}))  # a previous file to put back
    a = args(c, settings)
    failures, done = each_step_fails(lambda env: run_module('settings', a, env=env),
                                     _settings_state(c, a['path'], sorted(settings)))
    assert len(failures) == steps and done['changed']
    for failure in failures:
        assert 'Put back: the previous %s' % a['path'] in failure['msg']
        assert failure['steps'][-1].get('fault') == 'injected'
    assert 'restarted again' in failures[-1]['msg'] if steps == 4 else 'reloaded with the previous' in failures[-1]['msg']
    for name, value in settings.items():
        assert c.psql('SHOW %s' % name) == ('on' if value is True else value)
