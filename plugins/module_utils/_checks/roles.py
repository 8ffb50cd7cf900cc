# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Role audit: ``collect`` reads roles, memberships and grants; ``evaluate`` is pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import datetime
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import quoted
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_roles as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry

SERVER_FILE_ROLES = ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files')
RISKY_PREDEFINED = SERVER_FILE_ROLES + ('pg_read_all_data', 'pg_write_all_data')
TABLE_WRITES = ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')

# id: (section, what passing means)
CHECKS = collections.OrderedDict([
    ('role.superuser_login', ('privileges', 'Only the bootstrap superuser can log in as a superuser')),
    ('role.escalation_path', ('privileges', 'No login role can reach a superuser, REPLICATION, BYPASSRLS or '
                                            'server-file role through SET-able memberships')),
    ('role.risky_predefined_member', ('privileges', 'No role is a member of a risky predefined role')),
    ('role.createrole', ('privileges', 'No non-superuser has CREATEROLE')),
    ('role.password_md5', ('passwords', 'No password is stored as an md5 hash')),
    ('role.password_expired', ('passwords', 'No login role has an expired password')),
    ('role.password_not_assessed', ('passwords', 'Password hashes could be read')),
    ('role.public_grant', ('grants', 'No privilege on a user object is granted to PUBLIC')),
    ('role.default_privileges', ('grants', 'No default privileges grant to PUBLIC')),
    ('role.owned_by_login', ('hygiene', 'Objects are owned by NOLOGIN owner roles')),
    ('role.droppable', ('hygiene', 'No unused role is left over')),
    ('role.not_seen', ('hygiene', 'Every login role logged in during the log window')),
    ('role.unexpected', ('drift', 'Every role is in the expected specification')),
    ('role.missing', ('drift', 'Every expected role exists')),
    ('role.attribute_drift', ('drift', 'Role attributes match the expected specification')),
    ('role.membership_drift', ('drift', 'Memberships match the expected specification')),
])

# Every role check runs in the quarterly access review; the drift checks need an expected specification
# and role.not_seen needs the connection log.
REGISTRY = Registry('roles', [
    Check(cid, 'server', title=title, section=section, cadence=('quarterly',), runbook='access-review.md#the-checks',
          facts=('expected',) if section == 'drift' else (('logins',) if cid == 'role.not_seen' else ('roles',)))
    for cid, (section, title) in CHECKS.items()])

ATTRIBUTES = {
    'superuser': 'rolsuper', 'login': 'rolcanlogin', 'createrole': 'rolcreaterole', 'createdb': 'rolcreatedb',
    'replication': 'rolreplication', 'bypassrls': 'rolbypassrls', 'inherit': 'rolinherit',
    'connection_limit': 'rolconnlimit',
}


def validate_expected(spec, param='expected'):
    """The expected role specification: a list of {name, attributes, member_of}."""
    out = {}
    for index, item in enumerate(spec or []):
        where = '%s[%d]' % (param, index)
        if not isinstance(item, dict) or not item.get('name'):
            raise ParameterError(where, 'each expected role needs a name', 'give name, attributes and member_of')
        unknown = sorted(set(item) - set(('name', 'attributes', 'member_of')))
        if unknown:
            raise ParameterError(where, 'unknown keys %s' % ', '.join(unknown), 'use name, attributes, member_of')
        if not isinstance(item['name'], str):
            raise ParameterError(where + '.name', '%r is not a role name' % (item['name'],), 'give the name as text')
        attrs = item.get('attributes') or {}
        if not isinstance(attrs, dict):
            raise ParameterError(where + '.attributes', '%r is not a dictionary' % (attrs,),
                                 'give attribute: value pairs, for example {login: true, superuser: false}')
        member_of = item.get('member_of') or []
        if isinstance(member_of, str):
            raise ParameterError(where + '.member_of', '%r is text, not a list' % member_of,
                                 'give a list of role names, for example [%s]' % member_of)
        if not isinstance(member_of, list) or not all(isinstance(m, str) and m for m in member_of):
            raise ParameterError(where + '.member_of', '%r is not a list of role names' % (member_of,),
                                 'give a list of role names')
        bad = sorted(set(attrs) - set(ATTRIBUTES))
        if bad:
            raise ParameterError(where + '.attributes', 'unknown attribute(s) %s' % ', '.join(bad),
                                 'use %s' % ', '.join(sorted(ATTRIBUTES)))
        for key, value in attrs.items():
            if key == 'connection_limit':
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ParameterError(where + '.attributes.connection_limit', '%r is not a whole number' % (value,),
                                         'give -1 for no limit, or a number')
            elif not isinstance(value, bool):
                raise ParameterError(where + '.attributes.' + key, '%r is not true or false (a %s)' % (
                    value, type(value).__name__), 'give true or false without quotes')
        out[item['name']] = {'attributes': attrs, 'member_of': sorted(member_of)}
    return out


# --------------------------------------------------------------------------- collect

def collect_cluster(session, priv):
    roles = session.fetch_all(q.ROLES_AUTHID if priv['can_read_authid'] else q.ROLES_PUBLIC, {})
    members = session.fetch_all(q.MEMBERS_16 if priv['version_num'] >= 160000 else q.MEMBERS_OLD, {})
    deps = session.fetch_all(q.DEPENDENCIES, {})
    return {'roles': roles, 'members': members, 'dependencies': deps}


def collect_database(session, max_objects):
    return session.fetch_one(q.DATABASE, {'max_objects': int(max_objects)})


_SEEN = re.compile(r'connection authorized: user=(\S+)')


def logins_seen(lines):
    """Role names from log_connections lines ('connection authorized: user=NAME ...')."""
    return set(m.group(1) for m in (_SEEN.search(line) for line in lines) if m)


# --------------------------------------------------------------------------- evaluate

def _f(check_id, severity, title, obj, observed, expected, remediation):
    f = finding(check_id, severity, title, obj=obj, observed=observed, expected=expected, remediation=remediation)
    f['section'] = CHECKS[check_id][0]
    return f


def _graph(members, by_oid):
    """member name -> list of (role name, set, admin, inherit)."""
    edges = collections.defaultdict(list)
    for m in members:
        if m['member'] in by_oid and m['role'] in by_oid:
            edges[by_oid[m['member']]['rolname']].append(
                (by_oid[m['role']]['rolname'], bool(m['set_option']), bool(m['admin_option']),
                 bool(m['inherit_option'])))
    return edges


def escalation_paths(facts):
    """For every LOGIN, non-superuser role: the targets it can SET ROLE into, with the chain.

    An edge counts when it carries SET (16+; always before 16) or ADMIN (the member can grant the
    role to itself). Before 16 a CREATEROLE role can grant itself any non-superuser role. The
    server-file predefined roles are also reached through INHERIT edges, since their powers are
    privileges a member inherits without SET ROLE.

    One backward breadth-first search per target (there are few), so the cost grows with the
    number of memberships, not with login roles times chain length. Chains are shortest paths.
    """
    by_oid = dict((r['oid'], r) for r in facts['roles'])
    by_name = dict((r['rolname'], r) for r in facts['roles'])
    edges = _graph(facts['members'], by_oid)
    old = facts['version_num'] < 160000
    creators = [r['rolname'] for r in facts['roles'] if old and r['rolcreaterole'] and not r['rolsuper']]

    def target_kind(r):
        if r['rolsuper']:
            return 'superuser'
        if r['rolname'] in SERVER_FILE_ROLES:
            return 'server-file role'
        if r['rolreplication']:
            return 'REPLICATION'
        if r['rolbypassrls']:
            return 'BYPASSRLS'
        return None

    def reverse(usable, with_creators):
        back = collections.defaultdict(list)
        for member, grants in edges.items():
            for role, can_set, admin, inherit in grants:
                if usable(can_set, admin, inherit):
                    back[role].append(member)
        if with_creators:
            for r in facts['roles']:
                if not r['rolsuper']:
                    back[r['rolname']].extend(c for c in creators if c != r['rolname'])
        return back

    def sources(target, back):
        """role -> next hop towards target, for every role that can reach it."""
        nxt = {target: None}
        queue = collections.deque([target])
        while queue:
            name = queue.popleft()
            for prev in back.get(name, ()):
                if prev not in nxt:
                    nxt[prev] = name
                    queue.append(prev)
        return nxt

    by_set = reverse(lambda s, a, i: s or a, True)
    by_inherit = reverse(lambda s, a, i: i, False)
    found = {}
    for target in facts['roles']:
        kind = target_kind(target)
        if not kind:
            continue
        graphs = [by_set] + ([by_inherit] if kind == 'server-file role' else [])
        for back in graphs:
            nxt = sources(target['rolname'], back)
            for name in nxt:
                r = by_name[name]
                if name == target['rolname'] or not r['rolcanlogin'] or r['rolsuper']:
                    continue
                if (name, target['rolname']) in found:
                    continue
                chain = [name]
                while nxt[chain[-1]] is not None:
                    chain.append(nxt[chain[-1]])
                found[(name, target['rolname'])] = {'role': name, 'target': target['rolname'], 'kind': kind,
                                                    'chain': chain}
    return sorted(found.values(), key=lambda p: (p['role'], p['target']))


def evaluate(facts, bootstrap='postgres', expected=None, seen=None, today=None, admin_roles=(), paths=None):
    today = today or datetime.date.today()
    roles = facts['roles']
    by_oid = dict((r['oid'], r) for r in roles)
    out = []

    for r in roles:
        name = r['rolname']
        if r['rolsuper'] and r['rolcanlogin'] and name != bootstrap and name not in admin_roles:
            out.append(_f('role.superuser_login', 'warning', 'A login role is a superuser', name, 'SUPERUSER LOGIN',
                          'NOSUPERUSER, or NOLOGIN granted to named admins', 'Give admins their own NOLOGIN '
                          'superuser role they SET ROLE into, or ALTER ROLE %s NOSUPERUSER;' % quoted(name)))
        if r['rolcreaterole'] and not r['rolsuper']:
            out.append(_f('role.createrole', 'warning', 'A non-superuser can create and manage roles', name,
                          'CREATEROLE', 'NOCREATEROLE', 'CREATEROLE can grant powerful memberships; keep it for '
                          'a provisioning role, or ALTER ROLE %s NOCREATEROLE;' % quoted(name)))
        if r['password_kind'] == 'md5':
            out.append(_f('role.password_md5', 'warning', 'A password is stored as an md5 hash', name, 'md5',
                          'scram-sha-256', "Set password_encryption = 'scram-sha-256' and have the role set "
                                           "its password again (psql: \\password %s)." % quoted(name)))
        if r['rolcanlogin'] and r['valid_until'] and r['valid_until'] not in ('infinity',) and \
                r['valid_until'][:10] < today.isoformat():
            out.append(_f('role.password_expired', 'info', 'A login role has an expired password', name,
                          'valid until %s' % r['valid_until'], 'a current password or NOLOGIN',
                          'Renew the password or make the role NOLOGIN (or drop it).'))
    if any(r['password_kind'] is None for r in roles):
        out.append(_f('role.password_not_assessed', 'info', 'Password hashes were not assessed', 'pg_authid',
                      'not readable by the login role', 'readable',
                      'Run the audit as a superuser to check password hash kinds.'))

    for p in (escalation_paths(facts) if paths is None else paths):
        out.append(_f('role.escalation_path', 'critical' if p['kind'] == 'superuser' else 'warning',
                      'A login role can reach a %s' % p['kind'], p['role'],
                      ' -> '.join(p['chain']) + ' (%s)' % p['kind'], 'no such chain',
                      'Revoke a membership on the chain, or grant it WITH SET FALSE, INHERIT FALSE '
                      '(PostgreSQL 16+); review ADMIN OPTION grants.'))

    for m in facts['members']:
        role, member = by_oid.get(m['role']), by_oid.get(m['member'])
        if role and member and role['rolname'] in RISKY_PREDEFINED:
            out.append(_f('role.risky_predefined_member', 'warning', 'A role is a member of a risky predefined role',
                          member['rolname'], 'member of %s' % role['rolname'], 'no member',
                          'REVOKE %s FROM %s; these roles read or write server files, run programs as the '
                          'server, or bypass every table privilege.' % (quoted(role['rolname']),
                                                                        quoted(member['rolname']))))

    for db, d in sorted(facts['databases'].items()):
        grouped = collections.OrderedDict()
        targets = {}
        for g in d['public_grants']:
            grouped.setdefault((g['kind'], g['object']), []).append(g['privilege_type'])
            targets[(g['kind'], g['object'])] = g.get('target') or g['object']
        for (kind, obj), privs in grouped.items():
            sev = 'info'
            if kind == 'schema' and 'CREATE' in privs:
                sev = 'critical' if obj == 'public' else 'warning'
            elif kind in ('table', 'view', 'materialized view', 'foreign table'):
                sev = 'warning'
            elif kind == 'security definer function':
                sev = 'warning'
            out.append(_f('role.public_grant', sev, 'A privilege is granted to PUBLIC (every role)',
                          '%s: %s %s' % (db, kind, obj), ', '.join(sorted(privs)) + ' to PUBLIC', 'no PUBLIC grant',
                          'REVOKE %s ON %s FROM PUBLIC; then grant to the roles that need it.' % (
                              ', '.join(sorted(privs)), targets[(kind, obj)])))
        for dp in d['default_privileges']:
            if dp['grantee'] == 'PUBLIC':
                out.append(_f('role.default_privileges', 'warning', 'Default privileges grant to PUBLIC',
                              '%s: %s in %s' % (db, dp['object_type'], dp['schema'] or 'all schemas'),
                              '%s by %s to PUBLIC' % (dp['privilege_type'], dp['owner']), 'no PUBLIC default',
                              'ALTER DEFAULT PRIVILEGES FOR ROLE %s%s REVOKE %s ON %s FROM PUBLIC;' % (
                                  quoted(dp['owner']), ' IN SCHEMA %s' % quoted(dp['schema']) if dp['schema'] else '',
                                  dp['privilege_type'], str(dp['object_type']).upper())))
        for o in d['owned_by_login']:
            out.append(_f('role.owned_by_login', 'info', 'Objects are owned by a login role',
                          '%s: %s' % (db, o['owner']), '%d %s' % (o['objects'], o['kind']), 'a NOLOGIN owner role',
                          ('Give the application\'s objects to a NOLOGIN owner role (ALTER ... OWNER TO '
                           'app_owner for each: REASSIGN OWNED can not move the system objects of the bootstrap '
                           'superuser) and let applications log in as members.' if o['owner'] == bootstrap else
                           'Give objects to a NOLOGIN owner role (REASSIGN OWNED BY %s TO app_owner;) and let '
                           'applications log in as members.' % quoted(o['owner']))))

    deps = dict((d['role'], d) for d in facts['dependencies'])
    has_members = set(m['role'] for m in facts['members'])
    for r in roles:
        d = deps.get(r['oid']) or {}
        if (not r['rolcanlogin'] and not r['rolsuper'] and not r['rolname'].startswith('pg_')
                and r['oid'] not in has_members and not d.get('owns') and not d.get('privileges')):
            out.append(_f('role.droppable', 'info', 'A role is unused and can be dropped', r['rolname'],
                          'NOLOGIN, no members, owns nothing, holds no privilege', 'in use or dropped',
                          'After checking with its owner: DROP ROLE %s;' % quoted(r['rolname'])))
    if seen is not None:
        for r in roles:
            if r['rolcanlogin'] and r['rolname'] not in seen:
                out.append(_f('role.not_seen', 'info', 'A login role did not log in during the log window',
                              r['rolname'], 'no "connection authorized" line', 'logged in, or NOLOGIN',
                              'Ask its owner; make it NOLOGIN if it is no longer used.'))
    if expected is not None:
        out.extend(_drift(facts, expected, bootstrap, by_oid))
    return out


def _drift(facts, expected, bootstrap, by_oid):
    out = []
    actual = dict((r['rolname'], r) for r in facts['roles'])
    member_of = collections.defaultdict(set)
    for m in facts['members']:
        if m['member'] in by_oid and m['role'] in by_oid:
            member_of[by_oid[m['member']]['rolname']].add(by_oid[m['role']]['rolname'])
    for name in sorted(set(actual) - set(expected)):
        if name.startswith('pg_') or name == bootstrap:
            continue
        out.append(_f('role.unexpected', 'warning', 'A role is not in the expected specification', name,
                      'exists', 'absent', 'Add it to the specification, or drop it.'))
    for name in sorted(set(expected) - set(actual)):
        out.append(_f('role.missing', 'warning', 'An expected role does not exist', name, 'absent', 'exists',
                      'Create it, or remove it from the specification.'))
    for name in sorted(set(expected) & set(actual)):
        spec, r = expected[name], actual[name]
        for key, value in sorted(spec['attributes'].items()):
            if r[ATTRIBUTES[key]] != value:
                out.append(_f('role.attribute_drift', 'warning', 'A role attribute differs from the specification',
                              name, '%s=%s' % (key, r[ATTRIBUTES[key]]), '%s=%s' % (key, value),
                              'ALTER ROLE %s to match, or update the specification.' % name))
        extra = sorted(member_of[name] - set(spec['member_of']))
        missing = sorted(set(spec['member_of']) - member_of[name])
        if extra or missing:
            out.append(_f('role.membership_drift', 'warning' if extra else 'info',
                          'Memberships differ from the specification', name,
                          'extra: %s; missing: %s' % (', '.join(extra) or '-', ', '.join(missing) or '-'),
                          'member of %s' % (', '.join(spec['member_of']) or 'nothing'),
                          'REVOKE the extra memberships / GRANT the missing ones, or update the specification.'))
    return out


def with_ok(findings, checks):
    """One ok finding for each check with no finding, so reports show what was checked."""
    return REGISTRY.with_ok(findings, checks)


def applicable(expected, seen):
    """The checks that can run: drift needs ``expected``, role.not_seen the logins ``seen`` in the log."""
    return [c.id for c in REGISTRY.checks
            if ('expected' not in c.facts or expected is not None) and ('logins' not in c.facts or seen is not None)]


def inventory(facts):
    """The role inventory returned to the user (attributes, hash kind, memberships with options)."""
    by_oid = dict((r['oid'], r) for r in facts['roles'])
    grants = collections.defaultdict(list)
    for m in facts['members']:
        if m['member'] in by_oid and m['role'] in by_oid:
            grants[by_oid[m['member']]['rolname']].append({
                'role': by_oid[m['role']]['rolname'], 'admin': m['admin_option'], 'inherit': m['inherit_option'],
                'set': m['set_option'], 'grantor': by_oid.get(m['grantor'], {}).get('rolname')})
    return [dict(name=r['rolname'], superuser=r['rolsuper'], login=r['rolcanlogin'], createrole=r['rolcreaterole'],
                 createdb=r['rolcreatedb'], replication=r['rolreplication'], bypassrls=r['rolbypassrls'],
                 inherit=r['rolinherit'], connection_limit=r['rolconnlimit'], valid_until=r['valid_until'],
                 password=r['password_kind'] or 'not readable', member_of=sorted(grants[r['rolname']],
                                                                                 key=lambda g: g['role']))
            for r in facts['roles']]
