# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Capacity: the history of sizes from the daily reports on the controller, growth and a forecast.

``history(root, hosts)`` reads ``root/YYYY-MM-DD/<host>.json`` (the per-host daily reports: the
health check's metrics hold the file systems of the data directory and pg_wal, the WAL size, each
database's size and its largest tables); a file that can not be read is counted, never fatal.
``forecast(points, total)`` fits used bytes against days by least squares and gives the days until
the file system is full with a band from the slope's standard error (two of them each way, about
95 %). ``evaluate`` turns it into findings, ``plots`` into the report's pictures. All pure but
``history``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import os
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import severity as _sev
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._bloat import size
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'monthly-review.md#capacity'
DAY = re.compile(r'^\d{4}-\d{2}-\d{2}$')


def days(root):
    """The dates of the daily report directories under ``root``, oldest first."""
    names = os.listdir(root) if os.path.isdir(root) else []
    return sorted(datetime.datetime.strptime(d, '%Y-%m-%d').date() for d in names if DAY.match(d))


def history(root, hosts, since=None):
    """{host: [(date, metrics)]} from the daily reports under ``root``, oldest first, and the number of
    files that could not be read. ``since``: the first date to read (a datetime.date)."""
    out = dict((h, []) for h in hosts)
    unreadable = 0
    for date in days(root):
        if since and date < since:
            continue
        for host in hosts:
            path = os.path.join(root, date.isoformat(), host + '.json')
            if not os.path.exists(path):
                continue
            try:
                with open(path) as fh:
                    metrics = json.load(fh)['hosts'][0].get('metrics') or {}
            except (OSError, ValueError, KeyError, IndexError, TypeError):
                unreadable += 1
                continue
            if metrics.get('reachable', True) and metrics.get('disk'):
                out[host].append((date, metrics))
    return out, unreadable


def fit(points):
    """Least squares of y on x: (slope, intercept, slope standard error or None)."""
    n = len(points)
    mx = sum(x for x, y in points) / float(n)
    my = sum(y for x, y in points) / float(n)
    sxx = sum((x - mx) ** 2 for x, y in points)
    if sxx == 0:
        return 0.0, my, None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    if n < 3:
        return slope, intercept, None
    ssr = sum((y - (intercept + slope * x)) ** 2 for x, y in points)
    return slope, intercept, math.sqrt(ssr / (n - 2) / sxx)


def forecast(points, total):
    """Days until ``total`` from ``points`` [(day number, used bytes)]: dict with growth per day, days
    (None: not growing) and the band (earliest, latest; latest None when the slow end does not grow)."""
    slope, intercept, se = fit(points)
    last_x = max(x for x, y in points)
    now = intercept + slope * last_x
    out = {'growth_bytes_per_day': round(slope, 1), 'fitted_used_bytes': int(now), 'points': len(points),
           'days_until_full': None, 'band_days': None}

    def days(rate):
        return round((total - now) / rate, 1) if rate > 0 else None
    out['days_until_full'] = days(slope)
    if se is not None:
        fast, slow = slope + 2 * se, slope - 2 * se
        out['band_days'] = [days(fast), days(slow)]
        out['growth_band_bytes_per_day'] = [round(slow, 1), round(fast, 1)]
    return out


def analyse(series, window_days, largest=10):
    """One host's history -> its facts: per file system the points and forecast, databases and
    WAL growth, the tables that grew most over the window."""
    if not series:
        return {'points': 0}
    first = series[0][0]
    facts = {'points': len(series), 'first': first.isoformat(), 'last': series[-1][0].isoformat(),
             'window_days': window_days, 'filesystems': [], 'databases': {}, 'wal': None, 'tables': []}
    paths = []
    for date, m in series:
        for fs in m.get('disk') or []:
            if fs.get('path') not in paths:
                paths.append(fs.get('path'))
    for path in paths:
        pts, total = [], None
        for date, m in series:
            for fs in m.get('disk') or []:
                if fs.get('path') == path and fs.get('total_bytes'):
                    pts.append(((date - first).days, fs['total_bytes'] - fs['free_bytes']))
                    total = fs['total_bytes']
        if pts:
            entry = {'path': path, 'total_bytes': total, 'used_bytes': pts[-1][1], 'series': pts}
            if len(pts) >= 2:
                entry.update(forecast(pts, total))
            facts['filesystems'].append(entry)
    wal = [((d - first).days, m['wal_bytes']) for d, m in series if m.get('wal_bytes') is not None]
    if len(wal) >= 2:
        facts['wal'] = {'series': wal, 'bytes': wal[-1][1], 'growth_bytes_per_day': round(fit(wal)[0], 1)}
    names = sorted(set(n for d, m in series for n in (m.get('databases') or {})))
    for name in names:
        pts = [((d - first).days, (m['databases'].get(name) or {}).get('size_bytes')) for d, m in series
               if (m.get('databases') or {}).get(name)]
        pts = [(x, y) for x, y in pts if y is not None]
        if pts:
            facts['databases'][name] = {'series': pts, 'bytes': pts[-1][1],
                                        'growth_bytes_per_day': round(fit(pts)[0], 1) if len(pts) >= 2 else None}
    # tables: their size in the first and the last report that lists them
    seen = {}
    for d, m in series:
        for db, dm in (m.get('databases') or {}).items():
            for t in (dm or {}).get('largest_tables') or []:
                k = (db, t['schemaname'], t['relname'])
                seen.setdefault(k, []).append(((d - first).days, t['bytes']))
    grown = []
    for (db, schema, rel), pts in seen.items():
        if len(pts) >= 2 and pts[-1][0] > pts[0][0]:
            grown.append({'object': '%s.%s.%s' % (db, schema, rel), 'from_bytes': pts[0][1], 'bytes': pts[-1][1],
                          'days': pts[-1][0] - pts[0][0], 'series': pts})
    facts['tables'] = sorted(grown, key=lambda t: -(t['bytes'] - t['from_bytes']))[:largest]
    return facts


def _c_history(f, t):
    if f['points'] >= t['min_points']:
        return []
    return [finding('capacity.history', 'info', 'Too little history for a forecast', obj='daily reports',
                    observed='%d daily report(s) in the last %d days' % (f['points'], t['window_days']),
                    expected='at least %d' % t['min_points'],
                    remediation='Keep running playbooks/daily.yml every day and keep its reports on the controller.')]


def _c_forecast(f, t):
    if f['points'] < t['min_points']:
        return []
    out = []
    for fs in f['filesystems']:
        days = fs.get('days_until_full')
        sev = _sev(days, t['days_full_warning'], t['days_full_critical'], higher_is_worse=False) if days else None
        if not sev:
            continue
        band = fs.get('band_days') or [None, None]
        out.append(finding(
            'capacity.forecast', sev, 'A file system will be full soon', obj=fs['path'],
            observed='%s of %s used, growing %s a day: full in %.0f days (between %s and %s; least squares over %d '
                     'daily reports)' % (size(fs['used_bytes']), size(fs['total_bytes']),
                                         size(fs['growth_bytes_per_day']), days,
                                         '%.0f' % band[0] if band[0] is not None else '?',
                                         '%.0f' % band[1] if band[1] is not None else 'never', fs['points']),
            expected='more than %s days' % t['days_full_warning'],
            remediation='Add space or move data before then; find what grows in the databases and tables of this '
                        'report (old partitions, bloat: the weekly and monthly reviews).'))
    return out


def _c_table_growth(f, t):
    out = []
    for tb in f['tables']:
        if tb['bytes'] < t['table_growth_min_bytes'] or not tb['from_bytes']:
            continue
        pct = 100.0 * (tb['bytes'] - tb['from_bytes']) / tb['from_bytes']
        if pct >= t['table_growth_pct']:
            out.append(finding(
                'capacity.table_growth', 'info', 'A table grows fast', obj=tb['object'],
                observed='%s to %s in %d days (+%.0f%%)' % (size(tb['from_bytes']), size(tb['bytes']), tb['days'], pct),
                expected='growth under %s%% over the window' % t['table_growth_pct'],
                remediation='Expected growth needs its space planned; unexpected growth: look for a job that '
                            'stopped purging, or bloat.'))
    return out


def plots(host, f):
    """The report's pictures of one host: each file system's use with its fit and forecast to full,
    and the tables that grew most."""
    out = []
    first = datetime.date(*map(int, f['first'].split('-'))) if f.get('first') else None
    for fs in f.get('filesystems') or []:
        if len(fs['series']) < 2:
            continue
        last_x = fs['series'][-1][0]
        series = [{'name': 'used', 'points': [list(p) for p in fs['series']]},
                  {'name': 'size', 'points': [[fs['series'][0][0], fs['total_bytes']], [last_x, fs['total_bytes']]]}]
        if fs.get('days_until_full') is not None:
            end = last_x + min(fs['days_until_full'], 3 * max(last_x, 30))
            rate = fs['growth_bytes_per_day']
            series.append({'name': 'forecast (least squares)', 'dashed': True,
                           'points': [[last_x, fs['fitted_used_bytes']],
                                      [end, fs['fitted_used_bytes'] + rate * (end - last_x)]]})
            series[1]['points'][1][0] = end
        labels = [[x, (first + datetime.timedelta(days=int(x))).isoformat()] for x in
                  sorted(set([fs['series'][0][0], last_x] + ([series[-1]['points'][1][0]] if len(series) > 2 else [])))]
        out.append({'kind': 'line', 'title': '%s: %s used and forecast' % (host, fs['path']), 'unit': 'bytes',
                    'series': series, 'x_labels': labels})
    if f.get('tables'):
        out.append({'kind': 'bars', 'title': '%s: growth of the largest tables in %d days' % (host, f['window_days']),
                    'unit': 'bytes', 'bars': [[t['object'], t['bytes'] - t['from_bytes']] for t in f['tables']]})
    return out


REGISTRY = Registry('capacity', [
    Check('capacity.history', 'host', _c_history, name='history', cadence=('monthly',), runbook=RUNBOOK,
          title='Enough daily reports for a forecast', thresholds=(
              Threshold('min_points', 5, 'int', 'daily reports needed for a forecast'),
              Threshold('window_days', 30, 'int', 'days of daily reports the forecast is fitted over'))),
    Check('capacity.forecast', 'host', _c_forecast, name='forecast', cadence=('monthly',), runbook=RUNBOOK,
          title='No file system fills up within the forecast horizon', thresholds=(
              Threshold('days_full_warning', 90, 'int', 'warning when full within this many days',
                        at_least='days_full_critical'),
              Threshold('days_full_critical', 30, 'int', 'critical when full within this many days'))),
    Check('capacity.table_growth', 'object', _c_table_growth, name='table_growth', cadence=('monthly',),
          runbook=RUNBOOK, title='No table grows fast', thresholds=(
              Threshold('table_growth_pct', 50, 'num', 'a table that grew by this percentage over the window'),
              Threshold('table_growth_min_bytes', 10 * 1024 * 1024, 'int', 'smaller tables are not reported'))),
])
