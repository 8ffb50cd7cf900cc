# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTML reports in a real browser (Debian's chromium, headless, in a network namespace of its own):
a capacity forecast from a history of real daily metrics, through the real report module, loads with
no request of its own and shows its plots; a page that does load something is caught (the check can
fail)."""

import os

import pytest

from tests.harness import history
from tests.harness.browser import chromium, open_page, pixels_of
from tests.harness.pgcluster import PgCluster, run_module

GB = 1024 ** 3
BLUE = (0x25, 0x63, 0xeb)


@pytest.fixture(scope='module')
def metrics():
    c = PgCluster().start()
    try:
        c.psql('CREATE TABLE events (id int, v text); INSERT INTO events SELECT g, md5(g::text) '
               'FROM generate_series(1, 50000) g; VACUUM ANALYZE events')
        yield run_module('health_check', c.login())['metrics']
    finally:
        c.destroy()


def test_chromium_is_there():
    assert chromium(), 'chromium is in bindep.txt: make system-packages installs it'


def test_capacity_report_loads_offline_and_shows_its_plots(metrics, tmp_path):
    total = metrics['disk'][0]['total_bytes']
    daily = tmp_path / 'daily'
    # 70 % used 20 days ago, 0.5 % of the disk more every day: 79.5 % yesterday, full in about 41 days (a warning)
    history.write(str(daily), 'db1', metrics, 20, lambda age: total * (0.8 - age * 0.005),
                  table=('postgres', 'public', 'events'), table_bytes=lambda age: 40e6 - age * 1e6)
    cap = run_module('capacity', dict(history_dir=str(daily), hosts=['db1', 'db2']))
    db1 = cap['hosts']['db1']
    problems = sorted((f['id'], f['severity']) for f in db1['findings'] if f['severity'] != 'ok')
    assert problems == [('capacity.forecast', 'warning'), ('capacity.table_growth', 'info')], db1['findings']
    fs = db1['capacity']['filesystems'][0]
    assert 38 < fs['days_until_full'] < 44 and fs['band_days'][0] <= fs['days_until_full'] <= fs['band_days'][1]
    assert [f['id'] for f in cap['hosts']['db2']['findings'] if f['severity'] != 'ok'] == ['capacity.history']

    out = tmp_path / 'reports'
    run_module('report', dict(dest=str(out), name='capacity', title='Capacity', results={'db1': db1, 'db2': cap[
        'hosts']['db2']}, formats=['json', 'markdown', 'html']))
    page = open_page(str(out / 'capacity.html'))
    assert page['requests'] == []
    assert page['dom'].count('<svg') == 2 and page['dom'].count('class="series"') == 3 and 'class="bar"' in page['dom']
    assert pixels_of(page['image'], BLUE) > 500, 'the plots are drawn'
    markdown = (out / 'capacity.md').read_text()
    assert '| used |' in markdown and 'postgres.public.events' in markdown


def test_the_request_check_can_fail(tmp_path):
    bad = tmp_path / 'bad.html'
    bad.write_text('<html><body><img src="http://198.51.100.7/x.png"><p>x</p></body></html>')
    assert open_page(str(bad))['requests'] == ['http://198.51.100.7/x.png']


def test_a_finding_carrying_markup_stays_text(tmp_path):
    hostile = {'findings': [{'id': 'x.y', 'severity': 'warning', 'title': '<img src="http://198.51.100.7/t.png">',
                             'object': '<svg onload=alert(1)>', 'observed': 'o', 'expected': 'e',
                             'remediation': '<script src="http://198.51.100.7/s.js"></script>', 'waived': False}]}
    run_module('report', dict(dest=str(tmp_path), name='r', title='T', results={'db1': hostile}, formats=['html']))
    page = open_page(os.path.join(str(tmp_path), 'r.html'))
    assert page['requests'] == [] and '<script src' not in page['dom']
