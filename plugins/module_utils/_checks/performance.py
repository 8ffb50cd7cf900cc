# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The monthly performance review from pg_stat_statements: ``collect`` (three statements),
``period`` and ``evaluate`` (pure).

pg_stat_statements counts from its last reset. A month's figures are the difference between this
run's counters and the previous run's snapshot (kept on the controller); a statement whose counters
went down was reset in between, and counts from zero. A statement regressed when its mean time over
this period is more than ``regression_pct`` above its mean over the previous period.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_performance as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import identifier

RUNBOOK = 'monthly-review.md#performance-review'
MEASURES = (('total_ms', 'total time'), ('mean_ms', 'mean time'), ('calls', 'calls'),
            ('shared_blks_read', 'shared blocks read'), ('temp_blks_written', 'temporary blocks written'))


def collect(session, top, keep):
    ext = session.fetch_one(q.EXTENSION)
    facts = {'extension': ext, 'statements': None}
    checkpoints = q.CHECKPOINTS_17 if ext['version_num'] >= 170000 else q.CHECKPOINTS_BGWRITER
    facts['server'] = session.fetch_one(q.SERVER.replace('{checkpoints}', checkpoints))
    if ext['schema'] and ext['preloaded']:
        statement = q.STATEMENTS.replace('{schema}', identifier(ext['schema']).as_string(session.conn))
        facts['statements'] = session.fetch_one(statement, {'top': int(top), 'keep': int(keep)})
    return facts


def key(row):
    return '%s/%s/%s' % (row['datname'], row['rolname'], row['queryid'])


def parse_baseline(raw, param='baseline'):
    """The ``snapshot`` a previous run returned: {taken_at, statements: {key: {calls, total_ms, period_mean_ms}}}."""
    if not raw:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get('statements'), dict):
        raise ParameterError(param, 'is not a snapshot of this module',
                             'pass the snapshot a previous run returned, or nothing for a first run')
    for name, entry in raw['statements'].items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), (int, float)) and not isinstance(
                entry.get(k), bool) for k in ('calls', 'total_ms')):
            raise ParameterError('%s.statements.%s' % (param, name), 'has no numeric calls and total_ms',
                                 'pass the snapshot a previous run returned')
    return raw


def period(rows, baseline):
    """Each statement's figures over the period since ``baseline`` (all of them when there is none):
    calls, total_ms and mean_ms of the period, and the previous period's mean."""
    before = (baseline or {}).get('statements', {})
    out = []
    for row in rows:
        prev = before.get(key(row))
        reset = prev is None or row['calls'] < prev['calls'] or row['total_ms'] < prev['total_ms']
        calls = row['calls'] - (0 if reset else prev['calls'])
        total = row['total_ms'] - (0 if reset else prev['total_ms'])
        out.append(dict(row, key=key(row), period_calls=calls, period_total_ms=total,
                        period_mean_ms=total / calls if calls else 0.0,
                        previous_mean_ms=prev.get('period_mean_ms') if prev else None, known=prev is not None))
    return out


def snapshot(rows, taken_at):
    return {'taken_at': taken_at, 'statements': dict(
        (r['key'], {'calls': r['calls'], 'total_ms': round(r['total_ms'], 3),
                    'period_mean_ms': round(r['period_mean_ms'], 3)}) for r in rows)}


PERIOD_FIELDS = {'total_ms': 'period_total_ms', 'mean_ms': 'period_mean_ms', 'calls': 'period_calls'}


def tops(rows, n):
    """The first ``n`` statements by each measure (the period's figures)."""
    out = {}
    for measure, dummy in MEASURES:
        field = PERIOD_FIELDS.get(measure, measure)
        ordered = sorted(rows, key=lambda r: -r[field])[:n]
        out[measure] = [dict(key=r['key'], database=r['datname'], role=r['rolname'], query=r['query'],
                             calls=r['period_calls'], total_ms=round(r['period_total_ms'], 1),
                             mean_ms=round(r['period_mean_ms'], 3), shared_blks_read=r['shared_blks_read'],
                             temp_blks_written=r['temp_blks_written']) for r in ordered if r[field] > 0]
    return out


def _c_unavailable(f, t):
    ext = f['extension']
    if f['statements'] is not None:
        return []
    missing = [] if ext['preloaded'] else ["shared_preload_libraries lacks pg_stat_statements (a restart)"]
    if not ext['schema']:
        missing.append('the extension is not created in the login database')
    return [finding('perf.unavailable', 'warning', 'pg_stat_statements is not available: no statement review',
                    obj='server', observed='; '.join(missing), expected='pg_stat_statements loaded and created',
                    remediation='postgresql_pg_stat_statements_enabled: true with playbooks/install.yml (a restart '
                                'the first time); by hand: add pg_stat_statements to shared_preload_libraries, '
                                'restart, then in the login database: CREATE EXTENSION pg_stat_statements;')]


def _c_regression(f, t):
    out = []
    for r in f.get('period') or []:
        prev = r['previous_mean_ms']
        if not prev or r['period_calls'] < t['regression_min_calls'] or r['period_mean_ms'] < t['regression_min_mean_ms']:
            continue
        grown = 100.0 * (r['period_mean_ms'] - prev) / prev
        if grown > t['regression_pct']:
            out.append(finding(
                'perf.regression', 'warning', 'A statement got slower than last period', obj=r['key'],
                observed='mean %.2f ms over %d calls, was %.2f ms (+%.0f%%): %s' % (
                    r['period_mean_ms'], r['period_calls'], prev, grown, r['query']),
                expected='mean time within %s%% of the previous period' % t['regression_pct'],
                remediation='EXPLAIN (ANALYZE, BUFFERS) the statement with typical values; look for a dropped or '
                            'invalid index (index_review), stale statistics, a plan change after data growth.'))
    return out


def _c_new_heavy(f, t):
    rows = f.get('period') or []
    if not f.get('baseline'):
        return []
    total = sum(r['period_total_ms'] for r in rows) or 1.0
    out = []
    for r in rows:
        share = 100.0 * r['period_total_ms'] / total
        if not r['known'] and share >= t['new_heavy_pct']:
            out.append(finding(
                'perf.new_heavy', 'info', 'A new statement takes a large share of the time', obj=r['key'],
                observed='%.1f%% of the statement time (%d calls, mean %.2f ms): %s' % (
                    share, r['period_calls'], r['period_mean_ms'], r['query']),
                expected='known statements', remediation='Check it is expected (a new release, a new report) and '
                                                         'that it uses indexes (EXPLAIN).'))
    return out


def _c_checkpoints(f, t):
    s = f['server']
    timed, req = s['checkpoints_timed'] or 0, s['checkpoints_requested'] or 0
    if timed + req < t['checkpoints_min']:
        return []
    pct = 100.0 * req / (timed + req)
    if pct < t['checkpoints_requested_pct']:
        return []
    return [finding('perf.checkpoints', 'warning', 'Most checkpoints are requested, not timed', obj='server',
                    observed='%d requested, %d timed (%.0f%% requested)' % (req, timed, pct),
                    expected='under %s%% requested' % t['checkpoints_requested_pct'],
                    remediation='Raise max_wal_size so WAL volume does not force checkpoints between '
                                'checkpoint_timeout intervals (settings module, reload).')]


def _th(name, default, kind, doc):
    return Threshold(name, default, kind, doc)


REGISTRY = Registry('performance', [
    Check('perf.unavailable', 'server', _c_unavailable, name='unavailable', facts=('statements',),
          cadence=('monthly',), runbook=RUNBOOK, title='pg_stat_statements is available'),
    Check('perf.regression', 'object', _c_regression, name='regression', facts=('statements',), cadence=('monthly',),
          runbook=RUNBOOK, title='No statement got slower than last period', thresholds=(
              _th('regression_pct', 50, 'num', 'warning when a mean time grew by more than this percentage'),
              _th('regression_min_calls', 50, 'int', 'statements called fewer times in the period are not judged'),
              _th('regression_min_mean_ms', 1, 'num', 'statements faster than this are not judged'))),
    Check('perf.new_heavy', 'object', _c_new_heavy, name='new_heavy', facts=('statements',), cadence=('monthly',),
          runbook=RUNBOOK, title='No new statement takes a large share of the time', thresholds=(
              _th('new_heavy_pct', 5, 'pct', 'a statement absent last period taking this share of the time'),)),
    Check('perf.checkpoints', 'server', _c_checkpoints, name='checkpoints', facts=('server',), cadence=('monthly',),
          runbook=RUNBOOK, title='Checkpoints are mostly timed', thresholds=(
              _th('checkpoints_requested_pct', 50, 'pct', 'warning when this share of checkpoints was requested'),
              _th('checkpoints_min', 10, 'int', 'fewer checkpoints in all are not judged'))),
])


def plots(top):
    """Bars of the statements with the most total time in the period, for the HTML report."""
    rows = top.get('total_ms') or []
    return [{'kind': 'bars', 'title': 'Top statements by total time in the period', 'unit': 'ms',
             'bars': [['%s: %s' % (r['database'], r['query'][:60]), r['total_ms']] for r in rows]}] if rows else []
