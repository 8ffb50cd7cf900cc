# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Log review: ``summarise(entries)`` counts what the server wrote (pure), ``evaluate`` turns the counts
into findings (pure): errors grouped by SQLSTATE class and normalised message, FATAL and PANIC always,
authentication failures by user, database and client address, and whether the logs can answer at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import datetime
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._logs import normalise

RUNBOOK = 'log-review.md#the-checks'
SAMPLES = 3
AUTH = (('password authentication failed for user', 'password'), ('no pg_hba.conf entry for', 'no pg_hba.conf entry'),
        ('authentication failed for user', 'authentication'), ('SSL off', 'TLS required'),
        ('role "', 'unknown role'))


def _auth_kind(entry):
    if entry.get('sqlstate', '').startswith('28') or entry['message'].startswith(
            ('password authentication failed', 'no pg_hba.conf entry', 'role "', 'Ident authentication failed',
             'peer authentication failed', 'certificate authentication failed')):
        for text, kind in AUTH:
            if text in entry['message']:
                return kind
        return 'authentication'
    return None


def _client(entry):
    client = entry.get('client') or ''
    if not client and 'host "' in entry['message']:
        client = entry['message'].split('host "', 1)[1].split('"', 1)[0]
    return client.rsplit('(', 1)[0] or 'local'


# Operational signals in LOG lines: (name, expression on the message, the figure it carries)
SIGNALS = (
    ('checkpoints', re.compile(r'^checkpoints are occurring too frequently \((\d+) seconds? apart\)'), 'seconds'),
    ('temp_files', re.compile(r'^temporary file: path ".*", size (\d+)'), 'bytes'),
    ('lock_waits', re.compile(r'still waiting for \S+ on .* after ([\d.]+) ms'), 'ms'),
    ('slow_statements', re.compile(r'^duration: ([\d.]+) ms\s+(?:statement|execute [^:]*):'), 'ms'),
    ('autovacuum', re.compile(r'^automatic (?:aggressive )?(?:vacuum|analyze) of table .*?elapsed: ([\d.]+) s', re.S),
     'seconds'),
)
RESOURCES = ('out of memory', 'could not fork', 'No space left on device', 'too many open files')
# A crash restart: a server process died, the postmaster ended the others and reinitialised (or,
# with restart_after_crash off, shut down). The cause is the line before: terminated by a signal,
# an exception or a non-zero exit code.
CRASH_CAUSE = re.compile(r'^(?:server|[\w ]+) process \(PID \d+\) (?:was terminated by (?:signal|exception)|exited with '
                         r'exit code [1-9])')
CRASH_EVENT = ('all server processes terminated; reinitializing', 'shutting down because restart_after_crash is off')
# Connections refused while the server starts, recovers or stops (SQLSTATE 57P03): part of a restart,
# not a FATAL of their own.
NOT_NOW = ('the database system is starting up', 'the database system is in recovery mode',
           'the database system is shutting down', 'the database system is not yet accepting connections',
           'the database system is not accepting connections')
REPLICATION = ('archive command failed', 'could not receive data from WAL stream',
               'could not connect to the primary server', 'requested WAL segment', 'replication slot')


def _signal(e, signals):
    for name, regex, unit in SIGNALS:
        m = regex.search(e['message'])
        if m:
            g = signals.setdefault(name, {'count': 0, 'max': 0.0, 'unit': unit, 'samples': [], 'first': e.get('time')})
            g['count'] += 1
            g['last'] = e.get('time')
            value = float(m.group(1))
            if value >= g['max']:
                g['max'] = value
                g['samples'] = [e['message'].split('\n', 1)[0][:300]]
            return


def _audit(e, audit, limit=10000):
    """A pgaudit line: AUDIT: type,statement,substatement,class,command,object type,object name,statement,..."""
    try:
        row = next(csv.reader([e['message'][len('AUDIT: '):].split('\n', 1)[0]]))
    except (csv.Error, StopIteration):
        return
    if len(row) < 7 or len(audit) >= limit:
        return
    audit.append({'time': e.get('time'), 'user': e.get('user') or '?', 'database': e.get('database') or '?',
                  'class': row[3], 'command': row[4], 'object_type': row[5], 'object': row[6],
                  'statement': row[7][:300] if len(row) > 7 else ''})


def summarise(entries):
    """Counts of one review: errors by (level, SQLSTATE class, message), authentication failures by
    (user, database, client), operational signals (checkpoints, temporary files, lock waits, slow
    statements, autovacuum, resources, replication), with the first and last time and samples."""
    errors, auth, signals, audit, total, causes, refused = {}, {}, {}, [], 0, [], 0
    for e in entries:
        total += 1
        level = e.get('level')
        message = e.get('message', '')
        for kind, texts in (('resources', RESOURCES), ('replication', REPLICATION)):
            if level in ('LOG', 'WARNING', 'ERROR', 'FATAL', 'PANIC') and any(t in message for t in texts):
                g = signals.setdefault(kind, {'count': 0, 'samples': [], 'first': e.get('time')})
                g['count'] += 1
                g['last'] = e.get('time')
                if len(g['samples']) < SAMPLES:
                    g['samples'].append(message.split('\n', 1)[0][:300])
        if level == 'LOG' and message.startswith('AUDIT: '):
            _audit(e, audit)
            continue
        if level == 'LOG' and CRASH_CAUSE.match(message):
            causes.append(message.split('\n', 1)[0][:300])
            continue
        if level == 'LOG' and message.startswith(CRASH_EVENT):
            g = signals.setdefault('crash_restart', {'count': 0, 'samples': [], 'first': e.get('time')})
            g['count'] += 1
            g['last'] = e.get('time')
            if len(g['samples']) < SAMPLES:
                g['samples'].append('%s: %s' % (e.get('time'), causes[-1] if causes else message[:300]))
            continue
        if level == 'LOG':
            _signal(e, signals)
            continue
        if level == 'FATAL' and (e.get('sqlstate') == '57P03' or message.startswith(NOT_NOW)):
            refused += 1
            continue
        if level not in ('ERROR', 'FATAL', 'PANIC'):
            continue
        kind = _auth_kind(e) if level == 'FATAL' else None
        if kind:
            key = (e.get('user') or '?', e.get('database') or '?', _client(e), kind)
            group = auth.setdefault(key, {'count': 0, 'first': e.get('time'), 'samples': []})
        else:
            key = (level, (e.get('sqlstate') or '')[:2], normalise(e['message']))
            group = errors.setdefault(key, {'count': 0, 'first': e.get('time'), 'samples': []})
        group['count'] += 1
        group['last'] = e.get('time')
        if len(group['samples']) < SAMPLES:
            group['samples'].append(e['message'].split('\n', 1)[0][:300])
    return {'entries': total, 'errors': errors, 'auth': auth, 'signals': signals, 'audit': audit,
            'refused_connections': refused}


def _c_errors(f, t):
    out = []
    for (level, klass, message), g in sorted(f['errors'].items(), key=lambda kv: -kv[1]['count']):
        if level != 'ERROR':
            continue
        if g['count'] < t['error_min_count']:
            continue
        out.append(finding(
            'log.errors', 'warning' if g['count'] >= t['error_warning_count'] else 'info',
            'The server logged the same error repeatedly', obj='SQLSTATE class %s' % (klass or '?'),
            observed='%d x "%s" (%s to %s); e.g. %s' % (g['count'], message, g['first'], g['last'], g['samples'][0]),
            expected='fewer than %d of one error per review' % t['error_warning_count'],
            remediation='Find the application or job that sends it (log_line_prefix with %a, %u, %d); '
                        'see docs/runbooks/log-review.md for the SQLSTATE classes.'))
    return out


def _c_fatal(f, t):
    out = []
    for (level, klass, message), g in sorted(f['errors'].items(), key=lambda kv: -kv[1]['count']):
        if level not in ('FATAL', 'PANIC'):
            continue
        out.append(finding(
            'log.fatal', 'critical' if level == 'PANIC' else 'warning',
            'The server logged a PANIC' if level == 'PANIC' else 'The server logged FATAL errors',
            obj='%s %s' % (level, klass or '?'),
            observed='%d x "%s" (%s to %s); e.g. %s' % (g['count'], message, g['first'], g['last'], g['samples'][0]),
            expected='no FATAL or PANIC', remediation='PANIC: the server restarted; read the log around it and the '
                                                      'storage. FATAL: a session ended; read the message.'))
    return out


def _c_auth(f, t):
    out, by_client = [], {}
    for (user, db, client, kind), g in f['auth'].items():
        by_client.setdefault(client, []).append((user, db, kind, g))
    for client, groups in sorted(by_client.items()):
        count = sum(g['count'] for u, d, k, g in groups)
        users = sorted(set(u for u, d, k, g in groups))
        guessing = count >= t['auth_failures_warning'] and client != 'local'
        out.append(finding(
            'log.auth_failures', 'warning' if guessing else 'info', 'Authentication failed from one address'
            if guessing else 'Authentication failures', obj=client,
            observed='%d failure(s) for %s: %s' % (count, ', '.join(users)[:200], '; '.join(
                '%s@%s %s x%d' % (u, d, k, g['count']) for u, d, k, g in sorted(groups, key=lambda x: -x[3]['count'])[:5])),
            expected='fewer than %d from one address per review' % t['auth_failures_warning'],
            remediation='Many users or many tries from one address is guessing: block the address (firewall, '
                        'pg_hba reject) and check the roles for weak passwords; one user failing is a stale '
                        'password in a client.'))
    return out


def _signal_finding(f, name, title, threshold, severity, expected, remediation):
    g = (f.get('signals') or {}).get(name)
    if not g or (threshold is not None and g.get('max', 0) < threshold):
        return []
    figure = ', the largest %s %s' % (g['max'], g['unit']) if 'max' in g else ''
    return [finding('log.' + name, severity, title, obj='server',
                    observed='%d time(s) (%s to %s)%s; e.g. %s' % (g['count'], g['first'], g['last'], figure,
                                                                   g['samples'][0] if g['samples'] else ''),
                    expected=expected, remediation=remediation)]


def _c_checkpoints(f, t):
    return _signal_finding(f, 'checkpoints', 'Checkpoints occur too frequently', None, 'warning',
                           'checkpoints from checkpoint_timeout, not from WAL volume',
                           'Raise max_wal_size (a reload); see the monthly performance review for checkpoint counts.')


def _c_temp_files(f, t):
    return _signal_finding(f, 'temp_files', 'Queries spill large temporary files', t['temp_file_warning_bytes'],
                           'warning', 'no temporary file over %d bytes' % t['temp_file_warning_bytes'],
                           'Find the statement (the sample; log_temp_files), add an index or raise work_mem for it.')


def _c_lock_waits(f, t):
    return _signal_finding(f, 'lock_waits', 'Sessions waited on locks', t['lock_wait_warning_ms'], 'warning',
                           'no lock wait over %s ms' % t['lock_wait_warning_ms'],
                           'Find the holder (the sample names the process); shorten transactions; deadlocks '
                           'are in log.errors as SQLSTATE class 40.')


def _c_slow(f, t):
    return _signal_finding(f, 'slow_statements', 'Statements ran long', t['slow_statement_warning_ms'], 'warning',
                           'no statement over %s ms' % t['slow_statement_warning_ms'],
                           'EXPLAIN (ANALYZE, BUFFERS) the sample; the monthly performance review ranks them.')


def _c_autovacuum(f, t):
    return _signal_finding(f, 'autovacuum', 'Autovacuum ran long on a table', t['autovacuum_warning_s'], 'warning',
                           'no autovacuum over %s s' % t['autovacuum_warning_s'],
                           'Look at the table (dead rows, size); tune its autovacuum cost limits; weekly maintenance '
                           'vacuums within its budget.')


def _c_resources(f, t):
    return _signal_finding(f, 'resources', 'The server ran out of a resource', None, 'critical',
                           'no out of memory, fork failure, full disk or file limit',
                           'Read the samples: memory (work_mem times connections), disk (the daily disk check), '
                           'process or file limits of the service.')


def _c_crash_restart(f, t):
    g = (f.get('signals') or {}).get('crash_restart')
    if not g:
        return []
    return [finding('log.crash_restart', 'critical', 'A server process crashed and the server restarted', obj='server',
                    observed='%d crash restart(s) (%s to %s), %d connection(s) refused meanwhile; %s' % (
                        g['count'], g['first'], g['last'], f.get('refused_connections', 0), '; '.join(g['samples'])),
                    expected='no crash: every session was cut off and the server ran crash recovery',
                    remediation='Read the log around the first time: the process and its statement (DETAIL: Failed '
                                'process was running), signal 9 from the kernel OOM killer (dmesg), a bug or an '
                                'extension; check the storage and run amcheck (playbooks/weekly.yml).')]


def _c_replication(f, t):
    return _signal_finding(f, 'replication', 'Archiving or replication reported errors', None, 'warning',
                           'no archiving or streaming error',
                           'Check the archive (the backup runbook) and the standby link (the replication runbook).')


PRIVILEGE_COMMANDS = ('GRANT', 'REVOKE', 'CREATE ROLE', 'ALTER ROLE', 'DROP ROLE', 'ALTER DEFAULT PRIVILEGES',
                      'ALTER USER', 'CREATE USER', 'DROP USER')
DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')


def _changes(f):
    return [a for a in f.get('audit') or [] if a['class'] in ('DDL', 'ROLE')]


def _group(events):
    groups = {}
    for a in events:
        g = groups.setdefault((a['user'], a['database'], a['command'], a['object'] or '-'), [])
        g.append(a)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _by_role(events):
    """Events by (role, database): the first time and what was done ('CREATE TABLE public.t x2; ...')."""
    roles = {}
    for (u, d, c, o), g in _group(events):
        r = roles.setdefault((u, d), {'first': g[0]['time'], 'what': [], 'count': 0})
        r['what'].append('%s %s x%d' % (c, o, len(g)))
        r['count'] += len(g)
        r['first'] = min(r['first'] or '', g[0]['time'] or '')
    return sorted(roles.items())


def _c_audit_changes(f, t):
    events = _changes(f)
    if not events:
        return []
    lines = ['%s@%s %s %s x%d' % (u, d, c, o, len(g)) for (u, d, c, o), g in _group(events)[:20]]
    return [finding('log.audit_changes', 'info', 'Schema and role changes were audited', obj='server',
                    observed='%d event(s): %s' % (len(events), '; '.join(lines)),
                    expected='the changes that were planned', remediation='Compare with the change records.')]


def _c_audit_unexpected(f, t):
    expected = f.get('audit_expected_roles')
    if expected is None:
        return []
    out = []
    for (u, d), r in _by_role([a for a in _changes(f) if a['user'] not in expected]):
        out.append(finding('log.audit_unexpected_role', 'warning', 'A role not expected to change things did',
                           obj='%s@%s' % (u, d), observed='%d change(s) from %s: %s' % (
                               r['count'], r['first'], '; '.join(r['what'])[:500]),
                           expected='changes only by %s' % ', '.join(expected) if expected else 'no change',
                           remediation='Ask who used the role and why; revoke what it should not hold '
                                       '(the quarterly access review lists its privileges).'))
    return out


def in_window(stamp, windows):
    """Whether a log time ('2026-12-03 06:49:08.843 UTC') falls in one of the change windows."""
    try:
        when = datetime.datetime.strptime(stamp[:16], '%Y-%m-%d %H:%M')
    except (TypeError, ValueError):
        return True
    for w in windows:
        if DAYS[when.weekday()] in [d[:3].lower() for d in w.get('days') or DAYS] and \
                w['start'] <= when.strftime('%H:%M') < w['end']:
            return True
    return False


def _c_audit_window(f, t):
    windows = f.get('change_windows')
    if not windows:
        return []
    out = []
    for (u, d), r in _by_role([a for a in _changes(f) if not in_window(a['time'], windows)]):
        out.append(finding('log.audit_outside_window', 'warning', 'A change was made outside the change windows',
                           obj='%s@%s' % (u, d), observed='%d change(s) from %s: %s' % (
                               r['count'], r['first'], '; '.join(r['what'])[:500]),
                           expected='changes inside the declared windows',
                           remediation='Find the change record; an unplanned change gets a review (and the RCA '
                                       'template when it broke something).'))
    return out


def _c_audit_privileges(f, t):
    events = [a for a in f.get('audit') or [] if a['command'] in PRIVILEGE_COMMANDS]
    if not events:
        return []
    lines = ['%s@%s %s %s' % (a['user'], a['database'], a['command'], a['statement'][:120]) for a in events[:10]]
    return [finding('log.audit_privileges', 'info', 'Privileges or roles were changed', obj='server',
                    observed='%d change(s): %s' % (len(events), '; '.join(lines)), expected='planned changes',
                    remediation='Check each against the access policy; the quarterly access review shows the result.')]


def _c_audit_sensitive(f, t):
    sensitive = set(f.get('sensitive_tables') or [])
    if not sensitive:
        return []
    out = []
    reads = [a for a in f.get('audit') or [] if a['class'] == 'READ' and a['object'] in sensitive]
    for (u, d, c, o), g in _group(reads):
        out.append(finding('log.audit_sensitive_read', 'info', 'A sensitive table was read', obj=o,
                           observed='%s@%s %s x%d, first at %s' % (u, d, c, len(g), g[0]['time']),
                           expected='reads by the roles that need them',
                           remediation='Confirm the role has a reason; pgaudit object auditing narrows the log.'))
    return out


def _c_config(f, t):
    problems = f.get('config_problems') or []
    if not problems:
        return []
    return [finding('log.configuration', 'warning', 'The logs can not answer some questions', obj='server',
                    observed='; '.join(problems), expected='logging_collector on, log_line_prefix with %m %p %u %d '
                                                           '%h %e, log_connections on',
                    remediation='Set them with the audit_logging role (playbooks/install.yml) or postgresql_settings.')]


REGISTRY = Registry('logs', [
    Check('log.errors', 'server', _c_errors, name='errors', cadence=('daily',), runbook=RUNBOOK,
          title='No error was logged repeatedly', thresholds=(
              Threshold('error_min_count', 5, 'int', 'errors of one kind fewer than this are not reported'),
              Threshold('error_warning_count', 100, 'int', 'warning at this many of one error per review'))),
    Check('log.fatal', 'server', _c_fatal, name='fatal', cadence=('daily',), runbook=RUNBOOK,
          title='No FATAL or PANIC was logged'),
    Check('log.auth_failures', 'server', _c_auth, name='auth_failures', cadence=('daily', 'weekly'), runbook=RUNBOOK,
          title='No authentication failure was logged', thresholds=(
              Threshold('auth_failures_warning', 10, 'int', 'warning at this many failures from one address'),)),
    Check('log.checkpoints', 'server', _c_checkpoints, name='checkpoints', cadence=('daily',), runbook=RUNBOOK,
          title='Checkpoints are not too frequent'),
    Check('log.temp_files', 'server', _c_temp_files, name='temp_files', cadence=('daily',), runbook=RUNBOOK,
          title='No large temporary file', thresholds=(
              Threshold('temp_file_warning_bytes', 1024 ** 3, 'int', 'warning at a temporary file this large'),)),
    Check('log.lock_waits', 'server', _c_lock_waits, name='lock_waits', cadence=('daily',), runbook=RUNBOOK,
          title='No long lock wait', thresholds=(
              Threshold('lock_wait_warning_ms', 5000, 'num', 'warning at a lock wait this long'),)),
    Check('log.slow_statements', 'server', _c_slow, name='slow_statements', cadence=('daily',), runbook=RUNBOOK,
          title='No statement ran too long', thresholds=(
              Threshold('slow_statement_warning_ms', 60000, 'num', 'warning at a statement this long'),)),
    Check('log.autovacuum', 'server', _c_autovacuum, name='autovacuum', cadence=('daily',), runbook=RUNBOOK,
          title='No autovacuum ran too long', thresholds=(
              Threshold('autovacuum_warning_s', 3600, 'num', 'warning at an autovacuum this long'),)),
    Check('log.resources', 'server', _c_resources, name='resources', cadence=('daily',), runbook=RUNBOOK,
          title='No resource ran out'),
    Check('log.crash_restart', 'server', _c_crash_restart, name='crash_restart', cadence=('daily',), runbook=RUNBOOK,
          title='No server process crashed'),
    Check('log.replication', 'server', _c_replication, name='replication', cadence=('daily',), runbook=RUNBOOK,
          title='No archiving or streaming error'),
    Check('log.audit_changes', 'server', _c_audit_changes, name='audit_changes', cadence=('daily', 'weekly'),
          runbook=RUNBOOK, title='No schema or role change was audited'),
    Check('log.audit_unexpected_role', 'object', _c_audit_unexpected, name='audit_unexpected_role',
          cadence=('daily', 'weekly'), runbook=RUNBOOK, title='Only expected roles changed things'),
    Check('log.audit_outside_window', 'object', _c_audit_window, name='audit_outside_window',
          cadence=('daily', 'weekly'), runbook=RUNBOOK, title='Every change fell in a change window'),
    Check('log.audit_privileges', 'server', _c_audit_privileges, name='audit_privileges', cadence=('daily', 'weekly'),
          runbook=RUNBOOK, title='No privilege or role change was audited'),
    Check('log.audit_sensitive_read', 'object', _c_audit_sensitive, name='audit_sensitive_read',
          cadence=('daily', 'weekly'), runbook=RUNBOOK, title='No sensitive table was read'),
    Check('log.configuration', 'server', _c_config, name='configuration', cadence=('daily',), runbook=RUNBOOK,
          title='The logs hold what a review needs'),
])


def config_problems(settings):
    """What the server's logging settings keep the review from seeing."""
    out = []
    if settings.get('logging_collector') != 'on' and 'csvlog' not in settings.get('log_destination', '') \
            and 'jsonlog' not in settings.get('log_destination', ''):
        out.append('logging_collector is off (the log is wherever stderr goes)')
    prefix = settings.get('log_line_prefix', '')
    if 'stderr' in settings.get('log_destination', 'stderr'):
        missing = [name for code, name in (('%u', 'user'), ('%d', 'database')) if code not in prefix]
        missing += ['client'] if '%h' not in prefix and '%r' not in prefix else []
        if missing:
            out.append('log_line_prefix %r lacks %s' % (prefix, ', '.join(missing)))
    if settings.get('log_connections') != 'on':
        out.append('log_connections is off (logins are not seen)')
    return out
