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


def summarise(entries):
    """Counts of one review: errors by (level, SQLSTATE class, message), authentication failures by
    (user, database, client), operational signals (checkpoints, temporary files, lock waits, slow
    statements, autovacuum, resources, replication), with the first and last time and samples."""
    errors, auth, signals, total = {}, {}, {}, 0
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
        if level == 'LOG':
            _signal(e, signals)
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
    return {'entries': total, 'errors': errors, 'auth': auth, 'signals': signals}


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


def _c_replication(f, t):
    return _signal_finding(f, 'replication', 'Archiving or replication reported errors', None, 'warning',
                           'no archiving or streaming error',
                           'Check the archive (the backup runbook) and the standby link (the replication runbook).')


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
    Check('log.replication', 'server', _c_replication, name='replication', cadence=('daily',), runbook=RUNBOOK,
          title='No archiving or streaming error'),
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
