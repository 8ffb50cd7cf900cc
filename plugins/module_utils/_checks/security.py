# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit: a checklist with stable ids, grouped like the CIS PostgreSQL benchmark.

``evaluate`` is pure: facts in, one finding per problem (or one ok / "not assessed" finding per
check) out. Sections follow the benchmark's chapters; ids are our own and never change meaning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import shlex
import stat

from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

S1, S2, S3 = '1 Installation', '2 File permissions', '3 Logging and auditing'
S4, S5, S6, S7 = '4 Access and authorization', '5 Connection and login', '6 Settings and TLS', '7 Replication'

# id: (section, title of the check, rationale, remediation)
CHECKS = [
    ('sec.install.data_checksums', S1, 'Data checksums are enabled',
     'Checksums detect silent storage corruption before it spreads into backups.',
     'Enable with pg_checksums --enable on a stopped cluster (or initdb --data-checksums for new ones).'),
    ('sec.install.supported_version', S1, 'The major version receives security fixes',
     'Majors out of support get no security patches.', 'Upgrade to a supported major (pg_upgrade).'),
    ('sec.files.data_directory', S2, 'The data directory is private to the server user',
     'Anyone who can read PGDATA can read every table and password hash.',
     'chmod 700 (or 750 with group access on purpose) and chown the server user.'),
    ('sec.files.config_files', S2, 'Configuration files are not writable by others; pg_hba/pg_ident not readable',
     'A writable configuration is a way to run code as the server; pg_hba reveals the network layout.',
     'chmod 640 pg_hba.conf pg_ident.conf; chmod 644 or stricter postgresql.conf; owner postgres or root.'),
    ('sec.files.ssl_key', S2, 'The TLS private key is readable only by its owner (and group)',
     'A readable key lets anyone impersonate the server.', 'chmod 600 the key file, owner postgres.'),
    ('sec.files.log_directory', S2, 'The log directory is not world-accessible',
     'Logs hold statements, user names and sometimes data.', 'chmod 700 the log directory.'),
    ('sec.files.log_file_mode', S2, 'log_file_mode keeps log files private',
     'New log files inherit this mode.', "log_file_mode = '0600' (audit_logging role)."),
    ('sec.files.unix_socket_permissions', S2, 'The unix socket is not open to every local user',
     'With 0777 any local account can attempt to log in over the socket.',
     "unix_socket_permissions = 0770 with unix_socket_group, where local users are not trusted."),
    ('sec.log.destination', S3, 'Server logs are collected',
     'Without logs there is no audit trail.', 'logging_collector = on, or log_destination = syslog.'),
    ('sec.log.connections', S3, 'Connections are logged', 'Who logged in from where is the first audit question.',
     'log_connections = on.'),
    ('sec.log.disconnections', S3, 'Disconnections are logged', 'Session duration completes the connection trail.',
     'log_disconnections = on.'),
    ('sec.log.line_prefix', S3, 'Log lines name time, process, user and database',
     'Lines without them can not be attributed.', "log_line_prefix = '%m [%p] user=%u db=%d app=%a client=%h '."),
    ('sec.log.error_verbosity', S3, 'Errors are logged with detail', 'terse drops DETAIL and HINT.',
     'log_error_verbosity = default.'),
    ('sec.log.min_messages', S3, 'Warnings and errors are logged', 'A higher level hides security warnings.',
     'log_min_messages = warning.'),
    ('sec.log.min_error_statement', S3, 'Statements that fail are logged', 'Failed attacks show up as errors.',
     'log_min_error_statement = error.'),
    ('sec.log.statement', S3, 'DDL is logged', 'Schema and role changes must leave a trace.',
     "log_statement = 'ddl' (pgaudit gives finer control)."),
    ('sec.log.hostname', S3, 'Client addresses are logged without DNS lookups',
     'Reverse lookups slow logins and can be spoofed.', 'log_hostname = off.'),
    ('sec.log.timezone', S3, 'Log time stamps are in UTC', 'One time zone across a fleet makes timelines comparable.',
     "log_timezone = 'UTC'."),
    ('sec.log.rotation', S3, 'Server log files rotate', 'Unrotated logs fill the disk and are hard to ship.',
     'log_rotation_age = 1d (with logging_collector).'),
    ('sec.log.debug_print', S3, 'Debug printing of parse trees and plans is off',
     'It floods the log and can expose data.', 'debug_print_parse/rewritten/plan = off.'),
    ('sec.audit.pgaudit_loaded', S3, 'pgaudit is loaded', 'Session and object audit logging needs pgaudit.',
     "shared_preload_libraries includes 'pgaudit' (audit_logging role), then restart."),
    ('sec.audit.pgaudit_extension', S3, 'The pgaudit extension exists in every database',
     'pgaudit.log settings act per database where the extension is created.',
     'CREATE EXTENSION pgaudit in each database and template1 (audit_logging role).'),
    ('sec.audit.pgaudit_classes', S3, 'pgaudit logs DDL and role changes',
     'ddl and role are the minimum an auditor expects.', "pgaudit.log = 'ddl,role,write'."),
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
    ('sec.ssl.enabled', S6, 'TLS is on', 'Without TLS, passwords and data cross the network readable.',
     'ssl = on with a CA-signed certificate (ssl role).'),
    ('sec.ssl.min_protocol', S6, 'TLS 1.2 or newer is required', 'TLS 1.0 and 1.1 are broken.',
     "ssl_min_protocol_version = 'TLSv1.2'."),
    ('sec.ssl.ciphers', S6, 'Weak ciphers are excluded', 'NULL, export, RC4, DES, MD5 and MEDIUM ciphers are weak.',
     "ssl_ciphers = 'HIGH:!aNULL:!MD5'."),
    ('sec.ssl.certificate_expiry', S6, 'The server certificate is valid for more than 30 days',
     'An expired certificate breaks verify-full clients or pushes them to weaker modes.',
     'Rotate it (playbooks/rotate_certificates.yml).'),
    ('sec.ssl.non_ssl_sessions', S6, 'No remote session is unencrypted', 'Live proof that TLS is enforced.',
     'Enforce hostssl (ssl role) and find the clients that connect without TLS.'),
    ('sec.settings.fsync', S6, 'fsync is on', 'Without fsync a crash can corrupt the cluster.', 'fsync = on.'),
    ('sec.settings.full_page_writes', S6, 'full_page_writes is on', 'Without it torn pages survive a crash.',
     'full_page_writes = on.'),
    ('sec.repl.archive_mode', S7, 'WAL archiving is on', 'Point-in-time recovery needs the archive.',
     'archive_mode = on with pgBackRest archive-push.'),
]
CHECK_IDS = [c[0] for c in CHECKS]
_BY_ID = dict((c[0], c) for c in CHECKS)
NOT_ASSESSED = object()
SUPPORTED_MAJOR = 14
_LOOPBACK = (ipaddress.ip_network('127.0.0.0/8'), ipaddress.ip_network('::1/128'))
_WEAK_CIPHERS = ('ALL', 'LOW', 'MEDIUM', 'EXP', 'EXPORT', 'NULL', 'aNULL', 'eNULL', 'RC4', 'DES', '3DES', 'MD5')


def parse_hba_text(text):
    """Rules of a pg_hba.conf file (comments, includes and continuation lines aside)."""
    rules = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line or line.startswith('include'):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        if len(tokens) < 3:
            continue
        kind = tokens[0]
        if kind == 'local':
            address, rest = None, tokens[3:]
        else:
            address, rest = tokens[3] if len(tokens) > 3 else None, tokens[4:]
            if rest and address and '/' not in address and _is_ip(address) and _is_ip(rest[0]):
                address = '%s/%s' % (address, rest[0])
                rest = rest[1:]
        rules.append({'line': number, 'type': kind, 'databases': tokens[1].split(','),
                      'users': tokens[2].split(','), 'address': address, 'method': rest[0] if rest else ''})
    return rules


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _network(address):
    if address in (None, '', 'samehost', 'samenet'):
        return None
    if address == 'all':
        return ipaddress.ip_network('0.0.0.0/0')
    try:
        return ipaddress.ip_network(address, strict=False)
    except ValueError:
        return None


def _loopback_only(address):
    net = _network(address)
    if address in ('samehost',):
        return True
    return net is not None and any(net.subnet_of(lb) for lb in _LOOPBACK if lb.version == net.version)


def file_facts(paths):
    """Mode and owner of the given files or directories (None when absent)."""
    out = {}
    for key, path in paths.items():
        if not path:
            continue
        try:
            st = os.stat(path)
        except OSError:
            out[key] = {'path': path, 'exists': False}
            continue
        out[key] = {'path': path, 'exists': True, 'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid,
                    'is_dir': stat.S_ISDIR(st.st_mode)}
    return out


# --------------------------------------------------------------------------- evaluate

def _octal(value, default):
    text = str(value if value not in (None, '') else default)
    return int(text, 8) if text.startswith('0') else int(text)


def _on(settings, name):
    return str(settings.get(name, '')).lower() in ('on', 'true', '1', 'yes')


def _problems(facts):
    """check id -> list of (severity, object, observed), or NOT_ASSESSED with a reason."""
    s = facts['settings']
    p = {}
    p['sec.install.data_checksums'] = [] if _on(s, 'data_checksums') else [('warning', 'cluster', 'off')]
    major = facts['version_num'] // 10000
    p['sec.install.supported_version'] = [] if major >= SUPPORTED_MAJOR else [
        ('warning', 'server', 'PostgreSQL %s' % s.get('server_version'))]

    files = facts.get('files')
    if files is None:
        for cid in ('sec.files.data_directory', 'sec.files.config_files', 'sec.files.ssl_key', 'sec.files.log_directory'):
            p[cid] = (NOT_ASSESSED, 'the module did not run on the database host, or could not read its settings')
    else:
        d = files.get('data_directory')
        p['sec.files.data_directory'] = []
        if d and d.get('exists'):
            if d['mode'] & 0o007:
                p['sec.files.data_directory'].append(('critical', d['path'], 'mode %04o' % d['mode']))
            elif d['mode'] & 0o027:
                p['sec.files.data_directory'].append(('warning', d['path'], 'mode %04o' % d['mode']))
            if d['uid'] == 0:
                p['sec.files.data_directory'].append(('warning', d['path'], 'owned by root'))
        cf = []
        for key, limit in (('config_file', 0o022), ('hba_file', 0o037), ('ident_file', 0o037)):
            f = files.get(key)
            if f and f.get('exists') and f['mode'] & limit:
                cf.append(('warning', f['path'], 'mode %04o' % f['mode']))
        p['sec.files.config_files'] = cf
        k = files.get('ssl_key_file')
        if not k or not k.get('exists'):
            p['sec.files.ssl_key'] = [('warning', s.get('ssl_key_file'), 'missing')] if _on(s, 'ssl') else []
        elif k['mode'] & 0o007:
            p['sec.files.ssl_key'] = [('critical', k['path'], 'mode %04o (world readable)' % k['mode'])]
        elif k['mode'] & 0o037:
            p['sec.files.ssl_key'] = [('warning', k['path'], 'mode %04o' % k['mode'])]
        else:
            p['sec.files.ssl_key'] = []
        ld = files.get('log_directory')
        p['sec.files.log_directory'] = [('warning', ld['path'], 'mode %04o' % ld['mode'])] if (
            ld and ld.get('exists') and ld['mode'] & 0o007) else []
    mode = _octal(s.get('log_file_mode'), '0600')
    p['sec.files.log_file_mode'] = [('warning', 'log_file_mode', '%04o' % mode)] if mode & 0o037 else []
    sock = _octal(s.get('unix_socket_permissions'), '0777')
    p['sec.files.unix_socket_permissions'] = [('info', 'unix_socket_permissions', '%04o' % sock)] if sock & 0o007 else []

    p['sec.log.destination'] = [] if (_on(s, 'logging_collector') or 'syslog' in s.get('log_destination', '')) else [
        ('info', 'logging_collector', 'off, log_destination %s (the service manager may still capture stderr)'
         % s.get('log_destination'))]
    p['sec.log.connections'] = [] if _on(s, 'log_connections') else [('warning', 'log_connections', 'off')]
    p['sec.log.disconnections'] = [] if _on(s, 'log_disconnections') else [('warning', 'log_disconnections', 'off')]
    prefix = s.get('log_line_prefix', '')
    missing = [e for e, alts in (('time', ('%m', '%t', '%n')), ('pid', ('%p', '%c')), ('user', ('%u',)),
                                 ('database', ('%d',))) if not any(a in prefix for a in alts)]
    p['sec.log.line_prefix'] = [('warning', 'log_line_prefix', '%r lacks %s' % (prefix, ', '.join(missing)))] if missing else []
    p['sec.log.error_verbosity'] = [('info', 'log_error_verbosity', 'terse')] if s.get('log_error_verbosity') == 'terse' else []
    levels = ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'info', 'notice', 'warning', 'error', 'log', 'fatal',
              'panic']

    def level(name, limit):
        value = s.get(name, 'warning')
        return [('warning', name, value)] if value in levels and levels.index(value) > levels.index(limit) else []
    p['sec.log.min_messages'] = level('log_min_messages', 'warning')
    p['sec.log.min_error_statement'] = level('log_min_error_statement', 'error')
    p['sec.log.statement'] = [('warning', 'log_statement', 'none')] if s.get('log_statement') == 'none' and \
        'pgaudit' not in s.get('shared_preload_libraries', '') else []
    p['sec.log.hostname'] = [('info', 'log_hostname', 'on')] if _on(s, 'log_hostname') else []
    p['sec.log.timezone'] = [] if s.get('log_timezone') in ('UTC', 'Etc/UTC', 'GMT', 'Etc/GMT') else [
        ('info', 'log_timezone', s.get('log_timezone'))]
    p['sec.log.rotation'] = [('warning', 'log_rotation_age', 'no rotation')] if _on(s, 'logging_collector') and \
        int(s.get('log_rotation_age') or 0) == 0 and int(s.get('log_rotation_size') or 0) == 0 else []
    debug = [n for n in ('debug_print_parse', 'debug_print_rewritten', 'debug_print_plan') if _on(s, n)]
    p['sec.log.debug_print'] = [('info', n, 'on') for n in debug]
    loaded = 'pgaudit' in [x.strip() for x in s.get('shared_preload_libraries', '').split(',')]
    p['sec.audit.pgaudit_loaded'] = [] if loaded else [('warning', 'shared_preload_libraries',
                                                        s.get('shared_preload_libraries') or 'empty')]
    p['sec.audit.pgaudit_extension'] = [('warning', db, 'no pgaudit extension') for db, d in
                                        sorted(facts['databases'].items()) if not d['has_pgaudit']]
    classes = [c.strip().lower() for c in (s.get('pgaudit.log') or '').split(',')]
    p['sec.audit.pgaudit_classes'] = [] if not loaded or 'all' in classes or ('ddl' in classes and 'role' in classes) \
        else [('warning', 'pgaudit.log', s.get('pgaudit.log') or 'none')]

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

    p['sec.ssl.enabled'] = [] if _on(s, 'ssl') else [('critical', 'ssl', 'off')]
    p['sec.ssl.min_protocol'] = [] if not _on(s, 'ssl') or s.get('ssl_min_protocol_version') in ('TLSv1.2', 'TLSv1.3') \
        else [('warning', 'ssl_min_protocol_version', s.get('ssl_min_protocol_version'))]
    weak = [t for t in (s.get('ssl_ciphers') or '').split(':') if t and not t.startswith('!') and
            t.lstrip('+-') in _WEAK_CIPHERS]
    p['sec.ssl.ciphers'] = [('warning', 'ssl_ciphers', '%s allows %s' % (s.get('ssl_ciphers'), ', '.join(weak)))] \
        if weak and _on(s, 'ssl') else []
    cert = facts.get('certificate')
    if not _on(s, 'ssl'):
        p['sec.ssl.certificate_expiry'] = []
    elif cert is None:
        p['sec.ssl.certificate_expiry'] = (NOT_ASSESSED, 'the certificate file is not readable where the module ran')
    elif cert['days_to_expiry'] < 0:
        p['sec.ssl.certificate_expiry'] = [('critical', cert['subject'], 'expired %s' % cert['not_after'])]
    elif cert['days_to_expiry'] < facts.get('expiry_warning_days', 30):
        p['sec.ssl.certificate_expiry'] = [('warning', cert['subject'], '%d days left' % cert['days_to_expiry'])]
    else:
        p['sec.ssl.certificate_expiry'] = []
    p['sec.ssl.non_ssl_sessions'] = [('warning', 'pid %s (%s@%s from %s)' % (x['pid'], x['usename'], x['datname'],
                                                                             x['client_addr']), 'no TLS')
                                     for x in facts['non_ssl_sessions']]
    p['sec.settings.fsync'] = [] if _on(s, 'fsync') else [('critical', 'fsync', 'off')]
    p['sec.settings.full_page_writes'] = [] if _on(s, 'full_page_writes') else [('critical', 'full_page_writes', 'off')]
    p['sec.repl.archive_mode'] = [] if s.get('archive_mode') in ('on', 'always') else [
        ('warning', 'archive_mode', s.get('archive_mode'))]
    return p


def evaluate(facts):
    """One finding per problem, or one ok / not-assessed finding per check; each with its section."""
    out = []
    problems = _problems(facts)
    for cid, section, title, rationale, remediation in CHECKS:
        result = problems[cid]
        if isinstance(result, tuple) and result[0] is NOT_ASSESSED:
            found = [finding(cid, 'info', 'Not assessed: ' + title, observed=result[1], expected='assessed',
                             remediation='Run the audit as a superuser on the database host to assess this check.')]
            found[0]['assessed'] = False
        elif not result:
            found = [finding(cid, 'ok', title)]
        else:
            found = [finding(cid, severity, title, obj=str(obj), observed=observed, expected=title,
                             remediation=remediation) for severity, obj, observed in result]
        for f in found:
            f['section'] = section
            f['rationale'] = rationale
        out.extend(found)
    return out
