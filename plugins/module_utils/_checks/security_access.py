# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit, sections 4 (access and authorization) and 5 (connection and login).

``problems(facts)`` is pure: check id -> list of (severity, object, observed), or
(NOT_ASSESSED, reason). ``TABLE`` rows: (id, section, title, rationale, remediation).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._security_facts import (NOT_ASSESSED, loopback_only as _loopback_only)

S4, S5 = '4 Access and authorization', '5 Connection and login'

TABLE = [
    ('sec.access.superuser_logins', S4, 'Only the bootstrap superuser logs in as a superuser',
     'Every extra superuser login is unrestricted access.',
     'ALTER ROLE ... NOSUPERUSER; use SET ROLE to a NOLOGIN admin role.'),
    ('sec.access.risky_predefined_members', S4, 'No role holds server-file or all-data predefined roles',
     'pg_execute_server_program and pg_*_server_files reach the OS; pg_*_all_data bypass grants.',
     'REVOKE the predefined role; grant narrower privileges.'),
    ('sec.access.public_create_public', S4, 'PUBLIC can not create objects in schema public',
     'CVE-2018-1058: objects in public can hijack other users\' queries.',
     'REVOKE CREATE ON SCHEMA public FROM PUBLIC in every database (default since PostgreSQL 15).'),
    ('sec.access.definer_search_path', S4, 'SECURITY DEFINER functions fix their search_path',
     'Without it a caller can redirect the function to objects they control and run as its owner.',
     'ALTER FUNCTION ... SET search_path = pg_catalog, pg_temp (and schema-qualify names).'),
    ('sec.access.untrusted_languages', S4, 'No untrusted procedural language is installed',
     'plpython3u, plperlu and the like run code as the server user.', 'DROP EXTENSION/LANGUAGE where unused.'),
    ('sec.auth.hba_trust', S5, 'No pg_hba rule uses trust', 'trust logs anyone in without a password.',
     'Use scram-sha-256, peer (local) or cert.'),
    ('sec.auth.hba_weak_methods', S5, 'No pg_hba rule uses md5, password or ident over TCP',
     'md5 is replayable with the hash; password is cleartext; ident over TCP is spoofable.',
     'Use scram-sha-256 or cert.'),
    ('sec.auth.hba_wide_networks', S5, 'No pg_hba rule accepts every address',
     'all, 0.0.0.0/0 and ::/0 open the server to any network that reaches it.',
     'Name the client networks; keep 0.0.0.0/0 only on hostnossl ... reject lines.'),
    ('sec.auth.superuser_remote', S5, 'Superusers can not log in over the network',
     'Remote superuser access turns one stolen password into full control.',
     'Put a reject rule for superusers before host rules, or name non-superuser roles in host rules.'),
    ('sec.auth.hba_non_ssl', S5, 'TCP logins require TLS', 'host rules accept unencrypted connections.',
     'Use hostssl for every TCP rule and hostnossl ... reject (ssl role).'),
    ('sec.auth.listen_addresses', S5, 'The server listens only where it must',
     "'*' listens on every interface.", 'Set listen_addresses to the needed addresses.'),
    ('sec.auth.password_encryption', S5, 'New passwords are stored as scram-sha-256',
     'md5 hashes can be replayed and cracked.', "password_encryption = 'scram-sha-256'."),
    ('sec.auth.md5_hashes', S5, 'No stored password is an md5 hash', 'md5 hashes can be replayed and cracked.',
     'Have each role set its password again with password_encryption = scram-sha-256.'),
    ('sec.auth.authentication_timeout', S5, 'Authentication times out within a minute',
     'Long timeouts let clients hold connection slots.', 'authentication_timeout = 60s or less.'),
]


def problems(facts):
    """check id -> list of (severity, object, observed), or (NOT_ASSESSED, reason)."""
    s = facts['settings']
    p = {}
    roles = facts['roles']
    p['sec.access.superuser_logins'] = [('warning', r['rolname'], 'SUPERUSER LOGIN') for r in roles
                                        if r['rolsuper'] and r['rolcanlogin'] and r['rolname'] != facts['bootstrap']
                                        and r['rolname'] not in facts.get('admin_roles', ())]
    risky = ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_read_all_data',
             'pg_write_all_data')
    p['sec.access.risky_predefined_members'] = [('warning', r['rolname'], 'member of %s' % g) for r in roles
                                                for g in r['member_of'] if g in risky]
    p['sec.access.public_create_public'] = [('critical', db, 'PUBLIC has CREATE on schema public')
                                            for db, d in sorted(facts['databases'].items()) if d['public_create_on_public']]
    p['sec.access.definer_search_path'] = [('warning', '%s: %s' % (db, f['function']), 'no search_path, owner %s'
                                            % f['owner']) for db, d in sorted(facts['databases'].items())
                                           for f in d['definer_without_search_path']]
    p['sec.access.untrusted_languages'] = [('warning', '%s: %s' % (db, lang), 'installed')
                                           for db, d in sorted(facts['databases'].items())
                                           for lang in d['untrusted_languages']]

    hba = facts.get('hba')
    hba_ids = ('sec.auth.hba_trust', 'sec.auth.hba_weak_methods', 'sec.auth.hba_wide_networks',
               'sec.auth.superuser_remote', 'sec.auth.hba_non_ssl')
    if hba is None:
        for cid in hba_ids:
            p[cid] = (NOT_ASSESSED, 'pg_hba_file_rules needs a superuser and %s was not readable on this host'
                      % s.get('hba_file'))
    else:
        for cid in hba_ids:
            p[cid] = []
        supers = set(r['rolname'] for r in roles if r['rolsuper'])
        for r in hba:
            obj = 'pg_hba.conf line %s' % r['line']
            desc = '%s %s %s %s %s' % (r['type'], ','.join(r['databases']), ','.join(r['users']), r['address'] or '',
                                       r['method'])
            tcp = r['type'] != 'local'
            if r['method'] == 'reject':
                continue
            if r['method'] == 'trust':
                p['sec.auth.hba_trust'].append(('critical' if tcp and not _loopback_only(r['address']) else 'warning',
                                                obj, desc))
            if r['method'] in ('md5', 'password') or (tcp and r['method'] == 'ident'):
                p['sec.auth.hba_weak_methods'].append(('warning', obj, desc))
            if tcp and r['address'] in ('all', '0.0.0.0/0', '::/0', '::0/0'):
                p['sec.auth.hba_wide_networks'].append(('warning', obj, desc))
            if tcp and not _loopback_only(r['address']) and ('all' in r['users'] or supers & set(r['users'])):
                p['sec.auth.superuser_remote'].append(('warning', obj, desc))
            if r['type'] in ('host', 'hostnossl') and not _loopback_only(r['address']):
                p['sec.auth.hba_non_ssl'].append(('warning', obj, desc))
    p['sec.auth.listen_addresses'] = [('info', 'listen_addresses', '*')] if s.get('listen_addresses', '').strip() in (
        '*', '0.0.0.0', '::') else []
    p['sec.auth.password_encryption'] = [] if s.get('password_encryption') == 'scram-sha-256' else [
        ('warning', 'password_encryption', s.get('password_encryption'))]
    md5 = facts.get('md5_roles')
    p['sec.auth.md5_hashes'] = (NOT_ASSESSED, 'pg_authid is readable only by superusers') if md5 is None else [
        ('warning', name, 'md5 hash') for name in md5]
    timeout = int(s.get('authentication_timeout') or 60)
    p['sec.auth.authentication_timeout'] = [('info', 'authentication_timeout', '%d s' % timeout)] if timeout > 60 else []
    return p
