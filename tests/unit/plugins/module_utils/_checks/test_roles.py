# SPDX-License-Identifier: GPL-3.0-or-later
"""Role audit evaluation from tables of roles and memberships."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import roles
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError


def role(oid, name, login=False, superuser=False, createrole=False, replication=False, bypassrls=False,
         password='scram-sha-256'):
    return {'oid': oid, 'rolname': name, 'rolsuper': superuser, 'rolinherit': True, 'rolcreaterole': createrole,
            'rolcreatedb': False, 'rolcanlogin': login, 'rolreplication': replication, 'rolbypassrls': bypassrls,
            'rolconnlimit': -1, 'valid_until': None, 'password_kind': password}


def grant(role_oid, member, admin=False, inherit=True, set_=True):
    return {'role': role_oid, 'member': member, 'grantor': 10, 'admin_option': admin, 'inherit_option': inherit,
            'set_option': set_}


BASE = [role(10, 'postgres', login=True, superuser=True), role(20, 'dba', superuser=True),
        role(21, 'ops'), role(22, 'app', login=True), role(23, 'pg_read_server_files'),
        role(24, 'repl', replication=True)]


def facts(members, version=160000, extra=()):
    return {'roles': BASE + list(extra), 'members': members, 'dependencies': [], 'databases': {},
            'version_num': version}


def paths(f):
    return [(p['role'], p['target'], ' -> '.join(p['chain'])) for p in roles.escalation_paths(f)]


@pytest.mark.parametrize('members,version,expected', [
    ([], 160000, []),
    ([grant(21, 22), grant(20, 21)], 160000, [('app', 'dba', 'app -> ops -> dba')]),
    ([grant(21, 22), grant(20, 21, set_=False)], 160000, []),
    ([grant(21, 22, set_=False, inherit=False, admin=True), grant(20, 21)], 160000, [('app', 'dba', 'app -> ops -> dba')]),
    # before 16 every membership allows SET ROLE: the set flag of the row is not consulted
    ([grant(21, 22), grant(20, 21, set_=False)], 150000, []),
    ([grant(23, 21, set_=False, inherit=True), grant(21, 22, set_=False, inherit=True)], 160000,
     [('app', 'pg_read_server_files', 'app -> ops -> pg_read_server_files')]),
    ([grant(24, 22)], 160000, [('app', 'repl', 'app -> repl')]),
])
def test_escalation_paths(members, version, expected):
    assert paths(facts(members, version)) == expected


def test_createrole_before_16_reaches_every_non_superuser_role():
    f = facts([], 150000, extra=[role(30, 'provisioner', login=True, createrole=True)])
    assert ('provisioner', 'pg_read_server_files') in [(p[0], p[1]) for p in paths(f)]
    assert ('provisioner', 'dba') not in [(p[0], p[1]) for p in paths(f)]
    f['version_num'] = 160000
    assert paths(f) == []


def test_findings_and_ok_per_check():
    extra = [role(40, 'legacy', login=True, password='md5'), role(41, 'unused')]
    f = facts([grant(21, 22), grant(20, 21), grant(23, 21)], extra=extra)
    out = roles.with_ok(roles.evaluate(f, 'postgres'), [c for c in roles.CHECKS if roles.CHECKS[c][0] != 'drift'
                                                        and c != 'role.not_seen'])
    problems = sorted((x['id'], x['severity'], x['object']) for x in out if x['severity'] != 'ok')
    assert problems == [
        ('role.droppable', 'info', 'repl'),
        ('role.droppable', 'info', 'unused'),
        ('role.escalation_path', 'critical', 'app'),
        ('role.escalation_path', 'warning', 'app'),
        ('role.password_md5', 'warning', 'legacy'),
        ('role.risky_predefined_member', 'warning', 'ops'),
    ]
    assert all(x['section'] for x in out)


def test_drift_from_the_expected_specification():
    expected = roles.validate_expected([
        {'name': 'app', 'attributes': {'login': True, 'createrole': True}, 'member_of': []},
        {'name': 'reporting', 'attributes': {'login': True}},
    ])
    f = facts([grant(21, 22)])
    out = sorted((x['id'], x['object'], x['observed']) for x in roles.evaluate(f, 'postgres', expected=expected)
                 if x['section'] == 'drift')
    assert out == [
        ('role.attribute_drift', 'app', 'createrole=False'),
        ('role.membership_drift', 'app', 'extra: ops; missing: -'),
        ('role.missing', 'reporting', 'absent'),
        ('role.unexpected', 'dba', 'exists'),
        ('role.unexpected', 'ops', 'exists'),
        ('role.unexpected', 'repl', 'exists'),
    ]


@pytest.mark.parametrize('spec,words', [
    ([{'name': 'x', 'attributes': {'superpowers': True}}], 'unknown attribute(s) superpowers'),
    ([{'name': 'x', 'attributes': {'login': 'yes'}}], 'is not true or false'),
    ([{'name': 'x', 'roles': []}], 'unknown keys roles'),
    ([{'attributes': {}}], 'needs a name'),
])
def test_bad_expected_specification(spec, words):
    with pytest.raises(ParameterError) as err:
        roles.validate_expected(spec)
    assert words in err.value.msg


def test_logins_seen_from_log_lines():
    lines = ['2026-11-24 07:31:18.361 UTC [1] LOG:  connection authorized: user=app database=shop application_name=x',
             '... connection authorized: user=postgres database=postgres SSL enabled']
    assert roles.logins_seen(lines) == {'app', 'postgres'}


@pytest.mark.parametrize('spec,where,words', [
    ([{'name': 'app', 'member_of': 'pg_monitor'}], 'expected[0].member_of', 'is text, not a list'),
    ([{'name': 'app', 'member_of': [1]}], 'expected[0].member_of', 'not a list of role names'),
    ([{'name': 'app', 'attributes': {'login': 'true'}}], 'expected[0].attributes.login', 'without quotes'),
    ([{'name': 'app', 'attributes': ['login']}], 'expected[0].attributes', 'not a dictionary'),
    ([{'name': 42}], 'expected[0].name', 'not a role name'),
])
def test_expected_spec_types_are_checked(spec, where, words):
    with pytest.raises(ParameterError) as err:
        roles.validate_expected(spec)
    assert "parameter '%s'" % where in str(err.value) and words in str(err.value)
