# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit, section 3 (logging and auditing).

``problems(facts)`` is pure: check id -> list of (severity, object, observed), or
(NOT_ASSESSED, reason). ``TABLE`` rows: (id, section, title, rationale, remediation).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._security_facts import (on as _on)

S3 = '3 Logging and auditing'

TABLE = [
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
]


def problems(facts):
    """check id -> list of (severity, object, observed), or (NOT_ASSESSED, reason)."""
    s = facts['settings']
    p = {}
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
    return p
