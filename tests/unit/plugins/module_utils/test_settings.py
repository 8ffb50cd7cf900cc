# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils import _settings
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

ROWS = [
    {'name': 'archive_mode', 'vartype': 'enum', 'unit': None, 'context': 'postmaster', 'min_val': None,
     'max_val': None, 'enumvals': ['always', 'on', 'off']},
    {'name': 'log_file_mode', 'vartype': 'integer', 'unit': None, 'context': 'sighup', 'min_val': '0',
     'max_val': '511', 'enumvals': None},
    {'name': 'shared_buffers', 'vartype': 'integer', 'unit': '8kB', 'context': 'postmaster', 'min_val': '16',
     'max_val': '1073741823', 'enumvals': None},
    {'name': 'work_mem', 'vartype': 'integer', 'unit': 'kB', 'context': 'user', 'min_val': '64',
     'max_val': '2147483647', 'enumvals': None},
    {'name': 'checkpoint_timeout', 'vartype': 'integer', 'unit': 's', 'context': 'sighup', 'min_val': '30',
     'max_val': '86400', 'enumvals': None},
    {'name': 'random_page_cost', 'vartype': 'real', 'unit': None, 'context': 'user', 'min_val': '0',
     'max_val': '1.79769e+308', 'enumvals': None},
    {'name': 'log_connections', 'vartype': 'bool', 'unit': None, 'context': 'superuser-backend', 'min_val': None,
     'max_val': None, 'enumvals': None},
    {'name': 'log_line_prefix', 'vartype': 'string', 'unit': None, 'context': 'sighup', 'min_val': None,
     'max_val': None, 'enumvals': None},
    {'name': 'wal_level', 'vartype': 'enum', 'unit': None, 'context': 'postmaster', 'min_val': None,
     'max_val': None, 'enumvals': ['minimal', 'replica', 'logical']},
]


@pytest.mark.parametrize('settings', [
    {'shared_buffers': '1GB'}, {'shared_buffers': 16384}, {'work_mem': '64kB'}, {'checkpoint_timeout': '15min'},
    {'checkpoint_timeout': 900}, {'random_page_cost': 1.1}, {'random_page_cost': '1.1'},
    {'log_connections': True}, {'log_connections': 'on'}, {'wal_level': 'Replica'}, {'archive_mode': True},
    {'log_line_prefix': "%m [%p] %q%u@%d "}, {'pgaudit.log': 'ddl,role'}, {'log_file_mode': '0600'},
])
def test_valid(settings):
    _settings.validate(settings, ROWS)


@pytest.mark.parametrize('settings,words', [
    ({'shared_buffer': '1GB'}, "did you mean 'shared_buffers'"),
    ({'shared_buffers': '1 parsec'}, 'units of'),
    ({'shared_buffers': 'lots'}, 'a number with a unit'),
    ({'shared_buffers': '1min'}, 'units of'),
    ({'shared_buffers': 8}, 'between 16 and 1073741823 (in 8kB)'),
    ({'checkpoint_timeout': '1s'}, 'between 30 and 86400'),
    ({'work_mem': 1.5}, 'a whole number'),
    ({'log_connections': 'sometimes'}, 'on or off'),
    ({'wal_level': 'archive'}, 'one of minimal, replica, logical'),
    ({'work_mem': ['1MB']}, 'not a single value'),
    ({'include_dir': 'x'}, 'can not be set in a drop-in'),
])
def test_invalid(settings, words):
    with pytest.raises(ParameterError) as err:
        _settings.validate(settings, ROWS)
    assert words in err.value.msg, err.value.msg


def test_render_quotes_and_round_trips():
    text = _settings.render({'log_line_prefix': "it's %m", 'work_mem': 64, 'log_connections': False}, 'hdr')
    assert text == "# hdr\nlog_connections = off\nlog_line_prefix = 'it''s %m'\nwork_mem = 64\n"
    assert _settings.parse(text) == {'log_connections': 'off', 'log_line_prefix': "'it''s %m'", 'work_mem': '64'}


@pytest.mark.parametrize('old,new,action,changed', [
    ({}, {}, None, []),
    ({'work_mem': '4MB'}, {'work_mem': '8MB'}, 'reload', ['work_mem']),
    ({}, {'shared_buffers': '1GB', 'work_mem': '8MB'}, 'restart', ['shared_buffers', 'work_mem']),
    ({'wal_level': 'logical'}, {}, 'restart', ['wal_level']),
    ({'pgaudit.log': 'ddl'}, {'pgaudit.log': 'all'}, 'reload', ['pgaudit.log']),
])
def test_plan(old, new, action, changed):
    p = _settings.plan(_settings.render(old, 'x') if old else None, _settings.render(new, 'x'), ROWS)
    assert p['action'] == action and p['changed'] == changed


def test_restart_only_when_the_running_value_differs():
    rows = [dict(r, setting={'shared_buffers': '16384', 'wal_level': 'replica'}.get(r['name'])) for r in ROWS]
    p = _settings.plan(None, _settings.render({'shared_buffers': '128MB', 'wal_level': 'replica'}, 'x'), rows,
                       {'shared_buffers': '128MB', 'wal_level': 'replica'})
    assert p == {'changed': ['shared_buffers', 'wal_level'], 'restart': [], 'action': 'reload'}
    p = _settings.plan(None, _settings.render({'shared_buffers': '256MB'}, 'x'), rows, {'shared_buffers': '256MB'})
    assert p['restart'] == ['shared_buffers'] and p['action'] == 'restart'


@pytest.mark.parametrize('value,row,expected', [
    (True, {'vartype': 'bool', 'setting': 'on'}, True),
    ('off', {'vartype': 'bool', 'setting': 'on'}, False),
    ('1GB', {'vartype': 'integer', 'unit': '8kB', 'setting': '131072'}, True),
    ('5min', {'vartype': 'integer', 'unit': 's', 'setting': '300'}, True),
    (300, {'vartype': 'integer', 'unit': 's', 'setting': '301'}, False),
    ('Replica', {'vartype': 'enum', 'setting': 'replica'}, True),
    ('pgaudit', {'vartype': 'string', 'setting': ''}, False),
    ('0600', {'vartype': 'integer', 'unit': None, 'setting': '384'}, True),
])
def test_same_as_running(value, row, expected):
    assert _settings.same_as_running(value, row) is expected


@pytest.mark.parametrize('name,value', [
    ('log_line_prefix', "%m \nfsync = off"),
    ('log_line_prefix', "%m \r# x"),
    ('application_name', 'a\x00b'),
    ('pgaudit.log', "read\nshared_preload_libraries = 'evil'"),
])
def test_values_that_would_change_the_file_are_refused(name, value):
    from ansible_collections.pgops.postgresql.plugins.module_utils._settings import validate
    rows = [dict(name='log_line_prefix', vartype='string', unit=None, context='sighup', min_val=None, max_val=None,
                 enumvals=None, setting='%m', pending_restart=False),
            dict(name='application_name', vartype='string', unit=None, context='user', min_val=None, max_val=None,
                 enumvals=None, setting='', pending_restart=False)]
    with pytest.raises(ParameterError) as err:
        validate({name: value}, rows)
    assert "parameter 'settings.%s'" % name in str(err.value) and 'one-line value' in str(err.value)


def test_a_custom_setting_name_with_a_newline_is_unknown():
    from ansible_collections.pgops.postgresql.plugins.module_utils._settings import validate
    with pytest.raises(ParameterError) as err:
        validate({'pgaudit.log\nfsync': 'read'}, [])
    assert 'unknown setting' in str(err.value)
