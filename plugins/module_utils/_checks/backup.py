# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Backup verification: evaluate pgBackRest info, check and verify results (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'backup.md#verify'


def _hours(name, default, doc):
    return Threshold(name, default, 'num', doc + ' (0: off)')


# The registry: backup_verify evaluates all of them in one pass over the stanza (``evaluate``).
REGISTRY = Registry('backup', [
    Check('backup.stanza_status', 'repository', facts=('info',), runbook=RUNBOOK),
    Check('backup.none', 'repository', facts=('info',), runbook=RUNBOOK),
    Check('backup.full_age', 'repository', facts=('info',), runbook=RUNBOOK,
          thresholds=(_hours('full_max_age_hours', 8 * 24, 'hours after which the newest full backup is too old'),)),
    Check('backup.diff_age', 'repository', facts=('info',), runbook=RUNBOOK,
          thresholds=(_hours('diff_max_age_hours', 0, 'the same for differential backups'),)),
    Check('backup.incr_age', 'repository', facts=('info',), runbook=RUNBOOK,
          thresholds=(_hours('incr_max_age_hours', 0, 'the same for incremental backups'),)),
    Check('backup.latest_age', 'repository', facts=('info',), runbook=RUNBOOK,
          thresholds=(_hours('latest_max_age_hours', 36, 'hours after which the newest backup of any type is too old'),)),
    Check('backup.error', 'repository', facts=('info',), runbook=RUNBOOK),
    Check('backup.archive_gap', 'repository', facts=('verify',), cadence=('daily', 'weekly'), runbook=RUNBOOK),
    Check('backup.archive_push', 'server', facts=('archiver',), runbook=RUNBOOK),
    Check('backup.check', 'repository', facts=('check',), runbook=RUNBOOK),
    Check('backup.verify', 'repository', facts=('verify',), cadence=('daily', 'weekly'), runbook=RUNBOOK),
    Check('backup.repo_growth', 'repository', facts=('info',), runbook=RUNBOOK,
          thresholds=(Threshold('repo_growth_warning_pct', 50, 'num',
                                'growth of a backup over the previous one of its type, in percent (0: off)'),)),
])
CHECKS = tuple(REGISTRY.ids)


def validate_thresholds(raw):
    return REGISTRY.validate_thresholds(raw)


def _age_h(backup, now):
    return (now - backup['timestamp']['stop']) / 3600.0


def evaluate(stanza, now, thresholds, check=None, verify=None, archiver=None):
    """Findings for one stanza. ``now`` in epoch seconds; ``check``: dict(rc, message) or None
    (not run); ``verify``: parse_verify() result or None; ``archiver``: pg_stat_archiver row or None."""
    out = []
    name = stanza.get('name')
    status = stanza.get('status') or {}
    backups = sorted(stanza.get('backup') or [], key=lambda b: b['timestamp']['stop'])
    if status.get('code') not in (0, None) and not (status.get('code') == 2 and not backups):
        out.append(finding('backup.stanza_status', 'critical', 'pgBackRest reports a problem with the stanza',
                           obj=name, observed='%s (code %s)' % (status.get('message'), status.get('code')),
                           expected='ok', remediation='Run pgbackrest --stanza=%s check and read its log.' % name))
    if not backups:
        out.append(finding('backup.none', 'critical', 'The stanza has no backup', obj=name, observed='no backup',
                           expected='at least one full backup',
                           remediation='Take a full backup now (playbooks/backup.yml -e pgops_backup_type=full).'))
    for kind, key in (('full', 'full_max_age_hours'), ('diff', 'diff_max_age_hours'), ('incr', 'incr_max_age_hours')):
        limit = thresholds[key]
        if not limit or not backups:
            continue
        typed = [b for b in backups if b['type'] == kind]
        newest = typed[-1] if typed else None
        if newest is None or _age_h(newest, now) > limit:
            out.append(finding('backup.%s_age' % kind, 'critical' if kind == 'full' else 'warning',
                               'The newest %s backup is too old' % kind, obj=name,
                               observed='none' if newest is None else '%s, %.1f h old' % (
                                   newest['label'], _age_h(newest, now)),
                               expected='newer than %g h' % limit,
                               remediation='Check the backup schedule (cron or AWX) and the backup log; take a %s '
                                           'backup now.' % kind))
    if backups and thresholds['latest_max_age_hours'] and _age_h(backups[-1], now) > thresholds['latest_max_age_hours']:
        out.append(finding('backup.latest_age', 'warning', 'No backup of any type is recent', obj=name,
                           observed='%s, %.1f h old' % (backups[-1]['label'], _age_h(backups[-1], now)),
                           expected='newer than %g h' % thresholds['latest_max_age_hours'],
                           remediation='Check the backup schedule and the backup log.'))
    for b in backups:
        if b.get('error'):
            out.append(finding('backup.error', 'critical', 'A backup has errors', obj='%s %s' % (name, b['label']),
                               observed='pgBackRest flagged page checksum or copy errors', expected='no error',
                               remediation='Run pgbackrest info --set=%s, fix the storage, take a new full '
                                           'backup.' % b['label']))
    if verify is not None:
        # positions without the timeline: a gap is compared with the backups by where it lies in the WAL
        oldest = backups[0]['archive']['start'][8:] if backups else None
        newest = backups[-1]['archive']['start'][8:] if backups else None
        for gap in verify['wal_gaps']:
            where = dict(obj='%s %s' % (name, gap['archive_id']),
                         observed='%d segment(s) %s to %s' % (gap['segments'], gap['first'], gap['last']))
            if oldest is not None and gap['last'][8:] < oldest:
                continue  # older than every backup kept: no restore needs it
            if newest is not None and gap['last'][8:] < newest:
                # before the newest backup: restoring it is safe; only PITR into the window before it is lost
                out.append(finding('backup.archive_gap', 'warning', 'WAL is missing before the newest backup',
                                   expected='a continuous archive from the oldest backup to now',
                                   remediation='The newest backup (%s) restores to any time after it. Point-in-time '
                                               'recovery between %s and it is lost until the older backups expire; '
                                               'find why archive-push lost segments.'
                                               % (backups[-1]['label'], gap['first']), **where))
            else:
                out.append(finding('backup.archive_gap', 'critical', 'WAL is missing from the archive',
                                   expected='a continuous archive from the oldest backup to now',
                                   remediation='Point-in-time recovery can not cross the gap: take a full backup '
                                               'now (playbooks/backup.yml -e pgops_backup_type=full), then find why '
                                               'archive-push lost segments.', **where))
        for p in verify['problems']:
            if p['kind'] == 'missing WAL':
                continue
            out.append(finding('backup.verify', 'critical', 'pgbackrest verify found a damaged repository file',
                               obj='%s %s' % (name, p['file'] or p['backup']), observed=p['kind'],
                               expected='valid', remediation='The backup %s can not be trusted: take a new full '
                                                             'backup and check the repository storage.'
                               % (p['backup'] or '')))
    if check is not None and check['rc'] != 0:
        out.append(finding('backup.check', 'critical', 'pgbackrest check failed', obj=name,
                           observed=check['message'], expected='check passes',
                           remediation='archive_command or the repository is broken; see the message.'))
    if archiver and archiver.get('failing'):
        out.append(finding('backup.archive_push', 'critical', 'WAL archiving is failing', obj=name,
                           observed='last failure %s on %s' % (archiver.get('last_failed_time'),
                                                               archiver.get('last_failed_wal')),
                           expected='no failure since the last success',
                           remediation='Read the server log for archive-push errors; check the repository.'))
    same = {}
    for b in backups:
        same.setdefault(b['type'], []).append(b)
    for kind, items in same.items():
        if len(items) >= 2 and thresholds['repo_growth_warning_pct']:
            before, after = items[-2]['info']['repository']['size'], items[-1]['info']['repository']['size']
            if before and 100.0 * (after - before) / before > thresholds['repo_growth_warning_pct']:
                out.append(finding('backup.repo_growth', 'info', 'Backups grow fast',
                                   obj='%s %s' % (name, kind), observed='%d -> %d bytes (%s -> %s)' % (
                                       before, after, items[-2]['label'], items[-1]['label']),
                                   expected='growth under %g%%' % thresholds['repo_growth_warning_pct'],
                                   remediation='Check for bulk loads, bloat, or a retention change; plan capacity.'))
    return out
