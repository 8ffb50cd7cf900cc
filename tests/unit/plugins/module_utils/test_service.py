# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, ServiceError
from ansible_collections.pgops.postgresql.plugins.module_utils._service import ClusterService, detect


def fake_fs(paths, tools):
    return dict(exists=lambda p: p in paths, which=lambda t: '/usr/bin/' + t if t in tools else None)


@pytest.mark.parametrize('paths,tools,args,expected', [
    ({'/run/systemd/system', '/etc/postgresql/15/main'}, {'systemctl', 'pg_ctlcluster'}, ('15', 'main', None),
     'systemd'),
    ({'/etc/postgresql/15/main'}, {'systemctl', 'pg_ctlcluster'}, ('15', 'main', None), 'pg_ctlcluster'),
    (set(), {'pg_ctlcluster'}, (None, None, '/srv/data'), 'pg_ctl'),
    ({'/run/systemd/system'}, {'systemctl'}, (None, None, '/srv/data'), 'pg_ctl'),
])
def test_detect(paths, tools, args, expected):
    assert detect(*args, **fake_fs(paths, tools)) == expected


def test_detect_without_a_cluster_names_the_fix():
    with pytest.raises(ParameterError) as err:
        detect('15', 'nope', None, **fake_fs(set(), {'pg_ctlcluster'}))
    assert 'create the cluster first' in err.value.msg


def test_pg_ctlcluster_commands_skip_the_systemctl_redirect():
    svc = ClusterService('pg_ctlcluster', None, '15', 'main', stop_mode='fast')
    assert svc.argv('start') == ['pg_ctlcluster', '--skip-systemctl-redirect', '15', 'main', 'start']
    assert svc.argv('stop') == ['pg_ctlcluster', '--skip-systemctl-redirect', '--mode', 'fast', '15', 'main', 'stop']
    assert svc.status_argv()[-1] == 'status'


def test_systemd_uses_the_cluster_unit_not_the_umbrella_service():
    svc = ClusterService('systemd', None, '15', 'main')
    assert svc.argv('reload') == ['systemctl', 'reload', 'postgresql@15-main']
    assert svc.status_argv() == ['systemctl', 'is-active', '--quiet', 'postgresql@15-main']
    assert svc.argv('promote')[:2] == ['pg_ctlcluster', '--skip-systemctl-redirect']


def test_pg_ctl_commands_wait_and_log(tmp_path):
    data = '/nonexistent/pgops/data'
    pg_ctl = str(tmp_path / 'pg_ctl')
    svc = ClusterService('pg_ctl', None, data_dir=data, bin_dir=str(tmp_path), timeout=30)
    argv = svc.argv('start')
    assert argv[argv.index(pg_ctl):] == [
        pg_ctl, '-D', data, '-w', '-t', '30', '-l', data + '/pg_ctl.log', 'start']
    assert svc.argv('stop')[-3:] == ['-m', 'fast', 'stop']


def test_failed_action_reports_the_last_line():
    svc = ClusterService('pg_ctlcluster', lambda argv: (1, '', 'line one\nError: port in use\n'), '15', 'main')
    with pytest.raises(ServiceError) as err:
        svc.act('start')
    assert 'Error: port in use' in err.value.msg and 'exit code 1' in err.value.msg


def test_status_from_exit_codes():
    assert ClusterService('pg_ctlcluster', lambda argv: (0, '', ''), '15', 'main').is_running()
    assert not ClusterService('pg_ctlcluster', lambda argv: (3, '', ''), '15', 'main').is_running()
