# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit, sections 1 (installation) and 2 (file permissions).

``problems(facts)`` is pure: check id -> list of (severity, object, observed), or
(NOT_ASSESSED, reason). ``TABLE`` rows: (id, section, title, rationale, remediation).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._security_facts import (NOT_ASSESSED, SUPPORTED_MAJOR, octal as _octal, on as _on)

S1, S2 = '1 Installation', '2 File permissions'

TABLE = [
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
]


def problems(facts):
    """check id -> list of (severity, object, observed), or (NOT_ASSESSED, reason)."""
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
    return p
