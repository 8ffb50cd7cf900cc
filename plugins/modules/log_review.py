#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: log_review
short_description: Read the server log since the last run - errors, FATAL and PANIC, authentication failures
version_added: 0.2.0
description:
  - Runs on the database host and reads the server's log files incrementally, from where the previous
    run stopped (O(cursor)), in the formats PostgreSQL writes - stderr with the running
    C(log_line_prefix), C(csvlog) and C(jsonlog). Rotated, renamed and gzip-compressed files are
    recognised by their first bytes, so no line is read twice or missed across a rotation.
  - "Findings: C(log.errors) (one error message repeated, grouped by SQLSTATE class and the message with
    its values taken out), C(log.fatal) (every FATAL group; PANIC is critical), C(log.auth_failures)
    (failures by user, database and client address; a warning from one address past
    C(auth_failures_warning)), operational signals (C(log.checkpoints), C(log.temp_files), C(log.lock_waits),
    C(log.slow_statements), C(log.autovacuum), C(log.resources), C(log.replication)), C(log.crash_restart)
    (critical: a server process died and the postmaster restarted the server, with or without a PANIC;
    connections refused meanwhile are counted there, not as FATAL errors), and C(log.configuration)
    (logging settings that keep the review from seeing)."
  - Read-only towards the server (one READ ONLY statement for its logging settings); it writes nothing.
    When the server can not be reached and O(log_files) are given, the files are read anyway (with
    O(log_line_prefix), or PostgreSQL's default prefix), since the log of a server that is down says why.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  log_files:
    description:
      - Globs of the log files to read. Default, the files in the server's C(log_directory) (under the data
        directory when relative) when C(logging_collector) is on.
      - Debian's clusters without the collector write to C(/var/log/postgresql/postgresql-<major>-<name>.log*).
    type: list
    elements: path
  log_format:
    description: The format of files that are not C(.csv) or C(.json); default from C(log_destination).
    type: str
    choices: [stderr, csvlog, jsonlog]
  log_line_prefix:
    description: The prefix of stderr lines; default, the server's (a prefix changed since lines were written is not parsed).
    type: str
  cursor:
    description: The C(next_cursor) of the previous run; unset reads every file from its start.
    type: dict
  audit_expected_roles:
    description:
      - The roles expected to change the schema or roles (pgaudit DDL and ROLE classes); a change by any
        other is C(log.audit_unexpected_role). Unset does not judge roles.
    type: list
    elements: str
  change_windows:
    description:
      - When changes are allowed, in the log's time zone; a DDL or ROLE event outside all of them is
        C(log.audit_outside_window). Each is C(days) (mon..sun, default every day), C(start) and C(end)
        (C(HH:MM), end excluded).
    type: list
    elements: dict
  sensitive_tables:
    description:
      - Tables (C(schema.table)) whose reads (pgaudit READ class) are reported (C(log.audit_sensitive_read)).
      - pgaudit names the table of a session event only with C(pgaudit.log_relation) on.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Names of the checks to run; empty runs those of O(cadence), or all of them.
      - "Known names: errors, fatal, auth_failures, checkpoints, temp_files, lock_waits, slow_statements,
        autovacuum, resources, crash_restart, replication, audit_changes, audit_unexpected_role,
        audit_outside_window, audit_privileges, audit_sensitive_read, configuration."
    type: list
    elements: str
    default: []
  skip_checks:
    description: Names of checks not to run.
    type: list
    elements: str
    default: []
  cadence:
    description: Run the checks registered for this cadence when O(checks) is empty.
    type: str
    choices: [daily, weekly, monthly, quarterly]
  thresholds:
    description:
      - Overrides of the default thresholds, by name.
      - "Names and defaults: error_min_count 5 (errors of one kind fewer than this are not reported);
        error_warning_count 100 (warning at this many of one error per review); auth_failures_warning 10
        (warning at this many failures from one address); temp_file_warning_bytes 1073741824 (warning at a
        temporary file this large); lock_wait_warning_ms 5000 (warning at a lock wait this long);
        slow_statement_warning_ms 60000 (warning at a statement this long); autovacuum_warning_s 3600 (warning
        at an autovacuum this long)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Read the log since the last run
  pgops.postgresql.log_review:
    login_unix_socket: /var/run/postgresql
    cursor: "{{ previous.next_cursor | default(omit) }}"
  register: logs
'''

RETURN = r'''
findings:
  description: Findings (log.* ids), worst first.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
next_cursor:
  description: Where each file was read up to (by the fingerprint of its first bytes); pass it as O(cursor).
  returned: always
  type: dict
metrics:
  description: Files and bytes read, entries, errors, authentication failures, crash restarts, connections
    refused while the server started, recovered or stopped, and the count of each operational signal
    (C(signals), for example C(slow_statements), every statement logged with its duration).
  returned: always
  type: dict
queries:
  description: SQL statements run.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of statements.
  returned: always
  type: int
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _logs
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import logs as review
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ConnectionFailed, ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec

# PostgreSQL's own default, for a server that can not be asked
DEFAULT_PREFIX = '%m [%p] '

SETTINGS = """
SELECT json_object_agg(name, setting) AS settings FROM pg_settings
 WHERE name IN ('logging_collector', 'log_destination', 'log_directory', 'log_filename', 'data_directory',
                'log_line_prefix', 'log_connections')
"""


def log_patterns(params, settings):
    if params['log_files']:
        return params['log_files']
    if settings.get('logging_collector') != 'on':
        raise ParameterError('log_files', 'logging_collector is off, so the server does not know where its log goes',
                             'give the log files, for example /var/log/postgresql/postgresql-15-main.log*')
    directory = settings['log_directory']
    if not os.path.isabs(directory):
        directory = os.path.join(settings['data_directory'], directory)
    return [os.path.join(directory, '*')]


TIME = re.compile(r'\A([01][0-9]|2[0-4]):[0-5][0-9]\Z')


def validate_windows(windows, param='change_windows'):
    for n, w in enumerate(windows or []):
        where = '%s[%d]' % (param, n)
        if not isinstance(w, dict) or set(w) - set(('days', 'start', 'end')):
            raise ParameterError(where, '%r is not a window' % (w,), 'give days, start and end (HH:MM)')
        for key in ('start', 'end'):
            if not isinstance(w.get(key), str) or not TIME.match(w[key]):
                raise ParameterError('%s.%s' % (where, key), '%r is not a time' % (w.get(key),), 'give HH:MM, as 22:00')
        days = w.get('days') or []
        if not isinstance(days, list) or any(str(d)[:3].lower() not in review.DAYS for d in days):
            raise ParameterError(where + '.days', '%r are not days' % (days,), 'give a list of mon, tue, ... sun')
        if w['start'] >= w['end']:
            raise ParameterError(where, 'starts at %s, not before its end %s' % (w['start'], w['end']),
                                 'give a window within one day; two windows for one across midnight')
    return windows


def run(params):
    pipeline = Pipeline(review.REGISTRY, params, 'pgops_log_review', 30000)
    if params['cursor'] is not None and not all(isinstance(v, dict) and isinstance(v.get('offset'), int)
                                                for v in params['cursor'].values()):
        raise ParameterError('cursor', 'is not a cursor of this module', 'pass the next_cursor a previous run returned')
    windows = validate_windows(params['change_windows'])
    try:
        session = pipeline.connect()
    except ConnectionFailed:
        if not params['log_files']:
            raise
        # a server that is down: its log says why, when the files are named
        settings = {'log_line_prefix': DEFAULT_PREFIX, 'logging_collector': 'unknown', 'log_connections': 'unknown'}
    else:
        try:
            pipeline.probe(session, 'logging settings', ('can_monitor', 'is_superuser'))
            settings = session.fetch_one(SETTINGS)['settings']
        finally:
            session.close()
    destination = settings.get('log_destination', 'stderr')
    default_format = params['log_format'] or ('jsonlog' if destination.startswith('jsonlog') else
                                              'csvlog' if destination.startswith('csvlog') else 'stderr')
    regex = _logs.prefix_regex(params['log_line_prefix'] if params['log_line_prefix'] is not None
                               else settings.get('log_line_prefix', ''))
    paths = _logs.files(log_patterns(params, settings))
    chunks, cursor, small = _logs.read_new(paths, params['cursor'])
    entries = (e for path, key, data in chunks
               for e in _logs.entries(data, _logs.format_of(path, default_format), regex))
    facts = review.summarise(entries)
    facts['config_problems'] = review.config_problems(settings) if settings.get('logging_collector') != 'unknown' \
        else []
    facts.update(audit_expected_roles=params['audit_expected_roles'], change_windows=windows,
                 sensitive_tables=params['sensitive_tables'])
    metrics = dict(files=len(paths), files_read=len(chunks), bytes_read=sum(len(d) for p, k, d in chunks),
                   entries=facts['entries'], errors=sum(g['count'] for g in facts['errors'].values()),
                   auth_failures=sum(g['count'] for g in facts['auth'].values()), files_too_small=small,
                   crash_restarts=(facts['signals'].get('crash_restart') or {}).get('count', 0),
                   signals=dict((name, g['count']) for name, g in facts['signals'].items()),
                   refused_connections=facts['refused_connections'])
    return pipeline.finish(pipeline.registry.evaluate(facts, pipeline.thresholds, pipeline.selected),
                           next_cursor=cursor, metrics=metrics)


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec())
    spec.update(
        log_files=dict(type='list', elements='path'),
        log_format=dict(type='str', choices=['stderr', 'csvlog', 'jsonlog']),
        log_line_prefix=dict(type='str'),
        cursor=dict(type='dict'),
        audit_expected_roles=dict(type='list', elements='str'),
        change_windows=dict(type='list', elements='dict'),
        sensitive_tables=dict(type='list', elements='str', default=[]),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
