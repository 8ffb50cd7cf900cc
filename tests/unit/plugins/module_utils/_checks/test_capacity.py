# SPDX-License-Identifier: GPL-3.0-or-later
"""Capacity: least squares, the forecast and its band, history analysis and findings, from tables."""

import datetime

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import capacity

GB = 1024 ** 3
TH = capacity.REGISTRY.defaults()


def test_fit_of_a_straight_line_is_exact():
    slope, intercept, se = capacity.fit([(x, 5 + 2 * x) for x in range(10)])
    assert slope == pytest.approx(2) and intercept == pytest.approx(5) and se == pytest.approx(0)


def test_forecast_days_until_full_and_band():
    # 100 GB used, +1 GB a day with noise, 200 GB disk: about 100 days from the last point
    noise = [0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3, -0.3, 0.1]
    points = [(d, (100 + d + noise[d % 10]) * GB) for d in range(30)]
    f = capacity.forecast(points, 200 * GB)
    assert f['growth_bytes_per_day'] == pytest.approx(GB, rel=0.02)
    assert 66 < f['days_until_full'] < 74
    band = f['band_days']
    assert band[0] < f['days_until_full'] < band[1]


def test_a_shrinking_or_flat_disk_is_never_full():
    f = capacity.forecast([(d, (100 - d) * GB) for d in range(10)], 200 * GB)
    assert f['days_until_full'] is None and f['band_days'][0] is None


def _metrics(used, total=200 * GB, table=None):
    m = {'reachable': True, 'disk': [{'path': '/var/lib/postgresql', 'total_bytes': total, 'free_bytes': total - used,
                                      'free_pct': 0}], 'wal_bytes': 16 * 1024 ** 2,
         'databases': {'app': {'size_bytes': used // 2, 'largest_tables': []}}}
    if table:
        m['databases']['app']['largest_tables'] = [{'schemaname': 'public', 'relname': 'events', 'bytes': table}]
    return m


def _series(days, used, table=None):
    start = datetime.date(2026, 11, 1)
    return [(start + datetime.timedelta(days=d), _metrics(used(d), table=table(d) if table else None)) for d in days]


def findings(series):
    facts = capacity.analyse(series, 30)
    return sorted((f['id'], f['severity'], f['object']) for f in capacity.REGISTRY.evaluate(facts, TH)
                  if f['severity'] != 'ok'), facts


def test_disk_full_in_three_weeks_is_critical_and_plotted():
    out, facts = findings(_series(range(20), lambda d: (170 + d) * GB))
    assert out == [('capacity.forecast', 'critical', '/var/lib/postgresql')]
    plots = capacity.plots('db1', facts)
    assert plots[0]['kind'] == 'line' and [s['name'] for s in plots[0]['series']] == [
        'used', 'size', 'forecast (least squares)']


def test_slow_growth_raises_nothing_and_a_fast_table_is_info():
    out, facts = findings(_series(range(20), lambda d: 50 * GB + d * 1024 ** 2,
                                  table=lambda d: 100 * 1024 ** 2 + d * 10 * 1024 ** 2))
    assert out == [('capacity.table_growth', 'info', 'app.public.events')]
    assert facts['filesystems'][0]['days_until_full'] > 1000


def test_too_little_history_says_so():
    out, facts = findings(_series(range(2), lambda d: 100 * GB))
    assert out == [('capacity.history', 'info', 'daily reports')]


def test_history_reads_reports_and_counts_broken_files(tmp_path):
    import json
    for d in range(3):
        day = tmp_path / ('2026-11-0%d' % (d + 1))
        day.mkdir()
        (day / 'db1.json').write_text(json.dumps({'hosts': [{'metrics': _metrics((100 + d) * GB)}]}))
    (tmp_path / '2026-11-02' / 'db2.json').write_text('{not json')
    (tmp_path / 'latest.txt').write_text('x')
    series, unreadable = capacity.history(str(tmp_path), ['db1', 'db2'])
    assert [d.day for d, m in series['db1']] == [1, 2, 3] and series['db2'] == [] and unreadable == 1
    since, dummy = capacity.history(str(tmp_path), ['db1'], since=datetime.date(2026, 11, 2))
    assert len(since['db1']) == 2
