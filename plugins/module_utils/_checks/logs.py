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


def summarise(entries):
    """Counts of one review: errors by (level, SQLSTATE class, message), authentication failures by
    (user, database, client), with the first and last time and a few samples each."""
    errors, auth, total = {}, {}, 0
    for e in entries:
        total += 1
        level = e.get('level')
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
    return {'entries': total, 'errors': errors, 'auth': auth}


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
