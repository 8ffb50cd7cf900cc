# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Service levels of one month per cluster, from the reports already on the controller.

``load(root, month, hosts)`` reads the daily and restore-test fleet reports of the month
(``daily/YYYY-MM-DD/fleet-summary.json``, ``restore_test/YYYY-MM-DD/fleet-summary.json``) and the DR
drill history (``dr_drill/history.jsonl``); a file that can not be read is counted, never fatal.
``analyse(cluster, data, month, now)`` gives one cluster's figures (pure): availability from the daily
checks (a run counts as up when a host of the cluster answered as primary, down when the check ran
and no primary answered, unknown when no report holds the cluster) with the time proven up from each
answer's uptime; the data at risk at each check (RPO: the age of the newest archived WAL while the
archiver fails, else nothing beyond the current segment when archiving works, else the age of the
newest backup); the restore tests' RTO; the drills' RTO and RPO. ``evaluate`` compares them with the
cluster's objectives, ``plots`` draws one picture per objective.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import json
import os
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'sla-report.md#the-checks'
MONTH = re.compile(r'\A(\d{4})-(0[1-9]|1[0-2])\Z')
DAY = re.compile(r'\A\d{4}-\d{2}-\d{2}\Z')
STAMP = re.compile(r'\A(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?\Z')
EPOCH = datetime.datetime(1970, 1, 1)
# findings of a daily report that put data at risk (named with an RPO breach)
RPO_CAUSES = ('health.archiver', 'backup.latest_age', 'backup.full_age', 'backup.archive_push', 'backup.archive_gap',
              'backup.none', 'backup.error')


def seconds(stamp):
    """Epoch seconds of a report or server time ('2026-12-03 08:38:06 UTC', '... 08:37:17.93+00',
    '2026-12-03T08:38:06Z'); None when it is not one."""
    m = STAMP.match(str(stamp or '').strip())
    if not m:
        return None
    try:
        when = datetime.datetime.strptime('%s %s' % (m.group(1), m.group(2)), '%Y-%m-%d %H:%M:%S')
    except ValueError:  # the shape of a time, not a time: 2026-13-45
        return None
    zone = m.group(3) or 'UTC'
    offset = 0
    if zone not in ('Z', 'UTC'):
        digits = zone[1:].replace(':', '')
        offset = (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60) * (1 if zone[0] == '+' else -1)
    return (when - EPOCH).total_seconds() - offset


def month_bounds(month):
    """(first second, first second of the next month) of 'YYYY-MM', as epoch seconds."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime.datetime(year, mon, 1)
    end = start + datetime.timedelta(days=calendar.monthrange(year, mon)[1])
    return (start - EPOCH).total_seconds(), (end - EPOCH).total_seconds()


def fleet(path, hosts):
    """(generated_at, {host: result}) of one run's fleet report (the shared reporting tail writes one
    per run, unreachable hosts included)."""
    with open(os.path.join(path, 'fleet-summary.json')) as fh:
        data = json.load(fh)
    return data.get('generated_at'), dict((h.get('host'), h) for h in data.get('hosts') or [] if h.get('host') in hosts)


def load(root, month, hosts):
    """The month's daily runs, restore tests and drills that concern ``hosts``, and the number of
    files that could not be read."""
    data = {'daily': [], 'restore_test': [], 'drills': []}
    unreadable = 0
    for kind in ('daily', 'restore_test'):
        base = os.path.join(root, kind)
        names = sorted(os.listdir(base)) if os.path.isdir(base) else []
        for day in names:
            if not DAY.match(day) or not day.startswith(month):
                continue
            try:
                generated, results = fleet(os.path.join(base, day), hosts)
            except (OSError, ValueError, TypeError, AttributeError):
                unreadable += 1
                continue
            if results:
                data[kind].append({'date': day, 'time': seconds(generated), 'hosts': results})
    records, bad = drill_history(root, hosts)
    data['drills'] = [r for r in records if str(r.get('date', '')).startswith(month)]
    return data, unreadable + bad


def drill_history(root, hosts):
    """The records of the DR drill history (``dr_drill/history.jsonl``, one JSON object a line) whose
    cluster names one of ``hosts``, in the order they were written, and the number of lines that could
    not be read (a blank line is none)."""
    path = os.path.join(root, 'dr_drill', 'history.jsonl')
    records, unreadable = [], 0
    if not os.path.exists(path):
        return records, unreadable
    with open(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                names = set(str(record.get('cluster', '')).split(','))
            except (ValueError, AttributeError):
                unreadable += 1
                continue
            if names & set(hosts):
                records.append(record)
    return records, unreadable


def drill(record):
    """The figures of one drill record: its first scenario (the failover) and its PITR step; None when
    the record does not have that shape."""
    try:
        scenario = (record.get('scenarios') or [{}])[0]
        pitr = record.get('pitr') if isinstance(record.get('pitr'), dict) else {}
        return {'date': str(record.get('date', ''))[:10], 'time': seconds(record.get('date')),
                'old_primary': scenario.get('old_primary'), 'new_primary': scenario.get('new_primary'),
                'rto_seconds': number(scenario.get('rto_seconds')),
                'rpo_transactions': number(scenario.get('rpo_transactions')),
                'rpo_seconds': number(scenario.get('rpo_seconds')),
                'passed': str(scenario.get('passed')).lower() == 'true',
                'pitr_rto_seconds': number(pitr.get('rto_seconds')),
                'pitr_passed': str(pitr.get('passed')).lower() == 'true'}
    except (AttributeError, TypeError, KeyError, IndexError):
        return None


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _bad(result, ids):
    """The findings of ``result`` at warning or worse whose id is in ``ids`` (or every one when ids is None)."""
    return [f for f in result.get('findings') or [] if f.get('severity') in ('warning', 'critical')
            and not f.get('waived') and (ids is None or f.get('id') in ids)]


def _cause(day, host, f):
    return {'date': day, 'host': host, 'id': f.get('id'), 'severity': f.get('severity'),
            'observed': str(f.get('observed') or f.get('title') or '')[:300]}


def _verdict(run, hosts):
    """(status, primary host, its metrics, its result, [(host, finding)] of the others) for one daily
    run: up when a host answered as primary, down when a check ran and no primary answered, unknown
    when no check of the cluster ran (hosts unreachable over SSH, no report)."""
    primary = None
    why, checked = [], False
    for host in hosts:
        result = run['hosts'].get(host)
        if result is None:
            continue
        m = result.get('metrics') or {}
        if 'reachable' not in m:
            why.append((host, {'id': 'report.no_result', 'severity': 'critical',
                               'observed': result.get('msg') or 'no result'}))
            continue
        checked = True
        if m.get('reachable') and m.get('in_recovery') is False:
            primary = primary or (host, m, result)
        elif not m.get('reachable'):
            f = [x for x in result.get('findings') or [] if x.get('id') == 'health.server_up']
            why.append((host, f[0] if f else {'id': 'health.server_up', 'severity': 'critical',
                                              'observed': 'the server did not answer'}))
    if primary:
        return 'up', primary[0], primary[1], primary[2], why
    if checked:
        if not why:
            why = [(h, {'id': 'health.server_up', 'severity': 'critical',
                        'observed': 'no primary: every host answered in recovery'}) for h in hosts if h in run['hosts']]
        return 'down', None, {}, {}, why
    return 'unknown', None, {}, {}, why


def _rpo(run_time, m):
    """(seconds of data at risk, basis) at one daily check of the primary."""
    archiver = m.get('archiver') or {}
    backup = m.get('backup') or {}
    if m.get('archive_mode') in ('on', 'always') and archiver.get('last_archived_time'):
        if archiver.get('failing'):
            last = seconds(archiver['last_archived_time'])
            return (max(0.0, run_time - last) if last and run_time else None), 'archiver failing since the last archived WAL'
        return 0.0, 'WAL archived continuously'
    stop = number(backup.get('newest_stop'))
    if stop and run_time:
        return max(0.0, run_time - stop), 'newest backup (no WAL archived)'
    return None, 'not known (no archiver, no backup)'


def analyse(name, hosts, data, month, now):
    """The figures of one cluster for ``month``; ``now`` (epoch seconds) ends a month still running."""
    start, end = month_bounds(month)
    end = min(end, now)
    facts = {'cluster': name, 'hosts': list(hosts), 'month': month, 'elapsed_days': max(0.0, (end - start) / 86400.0),
             'runs': [], 'restarts': [], 'rpo': [], 'restore_tests': [], 'drills': [], 'causes': []}
    up_intervals, seen_starts, previous_seen = [], set(), None
    for run in data['daily']:
        verdict, host, m, result, why = _verdict(run, hosts)
        facts['runs'].append({'date': run['date'], 'time': run['time'], 'status': verdict, 'host': host})
        if verdict == 'down':
            facts['causes'].extend(dict(_cause(run['date'], h, f), objective='availability')
                                   for h, f in why if f.get('id') == 'health.server_up')
        if verdict != 'up':
            continue
        started = seconds(m.get('started_at'))
        if started and run['time']:
            up_intervals.append((max(started, start), min(run['time'], end)))
            if started >= start and (host, started) not in seen_starts:
                facts['restarts'].append({'host': host, 'started_at': m.get('started_at'),
                                          'down_at_most_since': previous_seen})
            seen_starts.add((host, started))
        previous_seen = run['date']
        exposure, basis = _rpo(run['time'], m)
        stop = number((m.get('backup') or {}).get('newest_stop'))
        facts['rpo'].append({'date': run['date'], 'host': host, 'seconds': exposure, 'basis': basis,
                             'backup_age_seconds': (run['time'] - stop) if stop and run['time'] else None,
                             'causes': [dict(_cause(run['date'], host, f), objective='rpo')
                                        for f in _bad(result, RPO_CAUSES)]})
    verdicts = [r['status'] for r in facts['runs']]
    up, down = verdicts.count('up'), verdicts.count('down')
    facts['up_runs'], facts['down_runs'], facts['unknown_runs'] = up, down, verdicts.count('unknown')
    facts['days_with_a_verdict'] = len(set(r['date'] for r in facts['runs'] if r['status'] != 'unknown'))
    facts['availability_pct'] = round(100.0 * up / (up + down), 3) if up + down else None
    facts['coverage_pct'] = round(100.0 * facts['days_with_a_verdict'] / max(1, int(facts['elapsed_days'] + 0.999)), 1)
    proven, reached = 0.0, None
    for lo, hi in sorted(up_intervals):
        lo = lo if reached is None else max(lo, reached)
        if hi > lo:
            proven += hi - lo
        reached = hi if reached is None else max(reached, hi)
    facts['proven_up_pct'] = round(100.0 * proven / (end - start), 3) if end > start else None
    known = [r for r in facts['rpo'] if r['seconds'] is not None]
    facts['worst_rpo'] = max(known, key=lambda r: r['seconds']) if known else None
    for run in data['restore_test']:
        for host in hosts:
            result = run['hosts'].get(host)
            if result is None:
                continue
            rto = number(((result.get('metrics') or {}).get('timings') or {}).get('rto'))
            failed = _bad(result, None) or ([] if rto is not None else [
                {'id': 'restore_test.result', 'severity': 'critical', 'observed': result.get('msg') or 'no RTO measured'}])
            facts['restore_tests'].append({'date': run['date'], 'host': host, 'rto_seconds': rto,
                                           'failed': [dict(_cause(run['date'], host, f), objective='rto')
                                                      for f in failed]})
    facts['drills'] = [d for d in (drill(r) for r in data['drills']) if d is not None]
    return facts


def breaches(facts, findings):
    """The findings of the source reports behind each objective this month missed."""
    missed = set(f['id'].split('.', 1)[1] for f in findings if f['id'] in ('sla.availability', 'sla.rpo', 'sla.rto')
                 and f['severity'] == 'critical')
    objective = facts['objectives'].get('rpo_seconds')
    out = [c for c in facts['causes'] if c['objective'] in missed]
    out += [c for r in facts['rpo'] if 'rpo' in missed and r['seconds'] is not None and r['seconds'] > (objective or 0)
            for c in r['causes']]
    out += [c for r in facts['restore_tests'] if 'rto' in missed for c in r['failed']]
    return out


def _fmt(value):
    if value is None:
        return 'unknown'
    if value >= 86400:
        return '%.1f d' % (value / 86400.0)
    if value >= 3600:
        return '%.1f h' % (value / 3600.0)
    if value >= 60:
        return '%.1f min' % (value / 60.0)
    return '%.1f s' % value


def _c_objectives(f, t):
    missing = [k for k in ('availability_pct', 'rpo_seconds', 'rto_seconds') if f['objectives'].get(k) is None]
    if not missing:
        return []
    return [finding('sla.objectives', 'warning', 'Objectives are not set', obj=f['cluster'],
                    observed='no %s' % ', '.join('pgops_sla_' + k for k in missing),
                    expected='every objective set in the inventory',
                    remediation='Set pgops_sla_availability_pct, pgops_sla_rpo_seconds and pgops_sla_rto_seconds '
                                'for the hosts of the cluster (group_vars); docs/sla.md says what each means.')]


def _c_coverage(f, t):
    if f['coverage_pct'] >= t['min_coverage_pct']:
        return []
    return [finding('sla.coverage', 'warning', 'Too few daily checks to judge the month', obj=f['cluster'],
                    observed='%d of %d day(s) have a daily check that answered or failed (%.0f%%); %d run(s) '
                             'without a verdict' % (f['days_with_a_verdict'], int(f['elapsed_days'] + 0.999),
                                                    f['coverage_pct'], f['unknown_runs']),
                    expected='a verdict on at least %s%% of the days' % t['min_coverage_pct'],
                    remediation='Schedule playbooks/daily.yml every day (the AWX schedule) and keep its reports '
                                'on the controller; unreachable hosts count as unknown, not as up.')]


def _c_availability(f, t):
    objective = f['objectives'].get('availability_pct')
    if objective is None or f['availability_pct'] is None or f['availability_pct'] >= objective:
        return []
    down = [r['date'] for r in f['runs'] if r['status'] == 'down']
    return [finding('sla.availability', 'critical', 'Availability below its objective', obj=f['cluster'],
                    observed='%.3f%%: %d of %d daily check(s) found no primary answering (%s); proven up %.2f%% '
                             'of the time' % (f['availability_pct'], f['down_runs'], f['up_runs'] + f['down_runs'],
                                              ', '.join(down[:10]), f['proven_up_pct'] or 0),
                    expected='at least %s%%' % objective,
                    remediation='Write the incident up (docs/templates/rca.md) with the reports of those days; '
                                'the causes are listed in this report.')]


def _c_rpo(f, t):
    objective = f['objectives'].get('rpo_seconds')
    worst = f['worst_rpo']
    if objective is None or worst is None or worst['seconds'] <= objective:
        return []
    over = [r for r in f['rpo'] if r['seconds'] is not None and r['seconds'] > objective]
    return [finding('sla.rpo', 'critical', 'Data at risk beyond the RPO objective', obj=f['cluster'],
                    observed='%s at risk on %s (%s, %s); over the objective at %d of %d check(s)' % (
                        _fmt(worst['seconds']), worst['date'], worst['host'], worst['basis'], len(over), len(f['rpo'])),
                    expected='at most %s' % _fmt(objective),
                    remediation='Find why archiving failed or backups stopped on those days (the backup runbook); '
                                'the findings of those daily reports are listed in this report.')]


def _c_rto(f, t):
    objective = f['objectives'].get('rto_seconds')
    tests = f['restore_tests']
    if not tests:
        return [finding('sla.rto', 'warning', 'No restore test this month', obj=f['cluster'],
                        observed='no restore test report for %s in %s' % (', '.join(f['hosts']), f['month']),
                        expected='a weekly restore test (playbooks/restore_test.yml)',
                        remediation='Schedule playbooks/restore_test.yml weekly: an untested backup gives no RTO.')]
    failed = [r for r in tests if r['failed']]
    slow = [r for r in tests if objective is not None and r['rto_seconds'] is not None and r['rto_seconds'] > objective]
    if not failed and not slow:
        return []
    measured = [r['rto_seconds'] for r in tests if r['rto_seconds'] is not None]
    worst = max(measured) if measured else None
    return [finding('sla.rto', 'critical', 'Restore tests missed the RTO objective' if slow else 'A restore test failed',
                    obj=f['cluster'],
                    observed='%d of %d restore test(s) failed%s, %d took longer than the objective%s; the slowest '
                             'took %s' % (len(failed), len(tests), ' (%s)' % ', '.join(r['date'] for r in failed)
                                          if failed else '', len(slow),
                                          ' (%s)' % ', '.join(r['date'] for r in slow) if slow else '', _fmt(worst)),
                    expected='every restore test passes within %s' % (_fmt(objective) if objective else 'its RTO'),
                    remediation='Read the restore test reports (docs/runbooks/restore-test.md); a slow restore needs '
                                'more process_max, a closer repository or a smaller database per cluster.')]


def _c_drill(f, t):
    if not f['drills']:
        return [finding('sla.drill', 'info', 'No DR drill this month', obj=f['cluster'],
                        observed='no record in dr_drill/history.jsonl for %s in %s' % (', '.join(f['hosts']), f['month']),
                        expected='a drill every quarter (playbooks/dr_drill.yml)',
                        remediation='Drills are quarterly: see docs/maintenance-calendar.md.')]
    rto, rpo = f['objectives'].get('rto_seconds'), f['objectives'].get('rpo_seconds')
    missed = [d for d in f['drills'] if not d['passed']
              or (rto is not None and d['rto_seconds'] is not None and d['rto_seconds'] > rto)
              or (rpo is not None and d['rpo_seconds'] is not None and d['rpo_seconds'] > rpo)]
    if not missed:
        return []
    return [finding('sla.drill', 'critical', 'A DR drill missed its targets', obj=f['cluster'],
                    observed='; '.join('%s: failover %s -> %s, RTO %s, %s transaction(s) lost%s' % (
                        d['date'], d['old_primary'], d['new_primary'], _fmt(d['rto_seconds']),
                        '%d' % d['rpo_transactions'] if d['rpo_transactions'] is not None else '?',
                        '' if d['passed'] else ', failed its own targets') for d in missed),
                    expected='RTO at most %s, no acknowledged transaction lost' % _fmt(rto),
                    remediation='Read the drill history (dr_drill/history.md) and docs/runbooks/dr-drill.md; '
                                'write the gap up with docs/templates/rca.md.')]


def plots(f):
    """One picture per objective: availability to date, data at risk at each check, RTO of each test."""
    out = []
    start = month_bounds(f['month'])[0]

    def day(stamp):
        return round((stamp - start) / 86400.0, 2) if stamp else None

    def objective_line(key, first, last):
        value = f['objectives'].get(key)
        return [] if value is None else [{'name': 'objective', 'dashed': True, 'points': [[first, value], [last, value]]}]
    runs = [r for r in f['runs'] if r['status'] != 'unknown' and r['time']]
    if runs:
        points, up = [], 0
        for n, r in enumerate(runs, 1):
            up += r['status'] == 'up'
            points.append([day(r['time']), round(100.0 * up / n, 3)])
        series = [{'name': 'availability to date', 'points': points}]
        series += objective_line('availability_pct', points[0][0], points[-1][0])
        lowest = min([p[1] for p in points] + [f['objectives'].get('availability_pct') or 100.0])
        out.append({'kind': 'line', 'title': '%s: availability in %s (%%)' % (f['cluster'], f['month']), 'unit': '%',
                    'series': series, 'y_min': max(0.0, float(int(lowest)) - 1.0),
                    'x_labels': [[points[0][0], runs[0]['date']], [points[-1][0], runs[-1]['date']]]})
    rpo = [r for r in f['rpo'] if r['seconds'] is not None]
    if rpo:
        times = dict((r['date'], r['time']) for r in f['runs'])
        points = [[day(times[r['date']]), r['seconds']] for r in rpo]
        series = [{'name': 'data at risk', 'points': points}]
        # the backup's age is the data at risk only without WAL archiving: drawn then, beside it
        ages = [[day(times[r['date']]), r['backup_age_seconds']] for r in f['rpo'] if r['backup_age_seconds'] is not None]
        if ages and any(r['basis'].startswith('newest backup') for r in rpo):
            series.append({'name': 'age of the newest backup', 'points': ages})
        series += objective_line('rpo_seconds', points[0][0], points[-1][0])
        out.append({'kind': 'line', 'title': '%s: RPO, data at risk at each daily check' % f['cluster'], 'unit': 's',
                    'series': series, 'x_labels': [[points[0][0], rpo[0]['date']], [points[-1][0], rpo[-1]['date']]]})
    bars = [['restore test %s %s' % (r['date'], r['host']), r['rto_seconds']] for r in f['restore_tests']
            if r['rto_seconds'] is not None]
    bars += [['DR drill %s' % d['date'], d['rto_seconds']] for d in f['drills'] if d['rto_seconds'] is not None]
    if bars:
        if f['objectives'].get('rto_seconds') is not None:
            bars.append(['objective', f['objectives']['rto_seconds']])
        out.append({'kind': 'bars', 'title': '%s: RTO measured' % f['cluster'], 'unit': 's', 'bars': bars})
    return out


REGISTRY = Registry('sla', [
    Check('sla.objectives', 'cluster', _c_objectives, name='objectives', cadence=('monthly',), runbook=RUNBOOK,
          title='Every objective is set'),
    Check('sla.coverage', 'cluster', _c_coverage, name='coverage', cadence=('monthly',), runbook=RUNBOOK,
          title='Enough daily checks to judge the month', thresholds=(
              Threshold('min_coverage_pct', 90, 'pct', 'days of the month with a daily verdict, in percent'),)),
    Check('sla.availability', 'cluster', _c_availability, name='availability', cadence=('monthly',), runbook=RUNBOOK,
          title='Availability met its objective'),
    Check('sla.rpo', 'cluster', _c_rpo, name='rpo', cadence=('monthly',), runbook=RUNBOOK,
          title='Data at risk stayed within the RPO objective'),
    Check('sla.rto', 'cluster', _c_rto, name='rto', cadence=('monthly',), runbook=RUNBOOK,
          title='Restore tests passed within the RTO objective'),
    Check('sla.drill', 'cluster', _c_drill, name='drill', cadence=('monthly',), runbook=RUNBOOK,
          title='DR drills met their targets'),
])
