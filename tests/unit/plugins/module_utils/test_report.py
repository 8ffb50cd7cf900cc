# SPDX-License-Identifier: GPL-3.0-or-later
import json
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding, summarize
from ansible_collections.pgops.postgresql.plugins.module_utils._report import (
    build, host_entry, render_html, render_json, render_markdown)


def result(*findings):
    return {'findings': list(findings), 'summary': summarize(findings), 'metrics': {'version': '15'}}


def report():
    db1 = result(finding('health.uptime', 'ok', 'fine'),
                 finding('health.idle_in_transaction', 'warning', 'Idle <tx>', obj='pid 1',
                         remediation='Kill "it" & fix the app'))
    db2 = result(finding('health.checksum_failures', 'critical', 'Checksums', obj='app'))
    return build('Fleet', [host_entry('db1', db1), host_entry('db2', db2), host_entry('db3', None)],
                 '2026-11-24 06:00:00 UTC', fail_on='critical')


def test_summary_counts_hosts_and_failing_hosts():
    r = report()
    assert r['summary']['hosts'] == 3
    assert r['summary']['failing_hosts'] == ['db2', 'db3']
    assert r['summary']['critical'] == 2 and r['summary']['warning'] == 1
    assert [h['host'] for h in r['hosts']] == ['db2', 'db3', 'db1']


def test_missing_result_is_a_critical_finding():
    entry = host_entry('db3', {'failed': True, 'msg': 'boom'})
    assert entry['findings'][0]['id'] == 'report.no_result'
    assert entry['findings'][0]['observed'] == 'boom'


def test_json_round_trips():
    assert json.loads(render_json(report()))['summary']['worst'] == 'critical'


def test_markdown_has_summary_table_and_remediation():
    md = render_markdown(report())
    assert md.startswith('# Fleet\n')
    assert '**Status: CRITICAL**' in md
    assert '| db1 | warning | 0 | 1 | 0 | 1 | 0 |' in md
    assert '- remediation: Kill "it" & fix the app' in md


def test_html_is_self_contained_and_escaped():
    page = render_html(report())
    assert page.startswith('<!DOCTYPE html>')
    assert not re.search(r'<script|<link|src=|https?://', page)
    assert 'Idle &lt;tx&gt;' in page and 'Idle <tx>' not in page
    assert page.index('Needs action') < page.index('id="host-db2"')
    assert page.index('CRITICAL</span> Checksums') < page.index('WARNING</span> Idle')


def test_changes_since_a_previous_report():
    before = report()
    db1 = result(finding('health.uptime', 'ok', 'fine'),
                 finding('role.public_grant', 'warning', 'new grant', obj='app: table t'))
    db2 = result(finding('health.checksum_failures', 'critical', 'Checksums', obj='app'))
    now = build('Fleet', [host_entry('db1', db1), host_entry('db2', db2)], 'later', previous=before)
    ch = now['changes']
    assert ch['previous_generated_at'] == '2026-11-24 06:00:00 UTC'
    assert [(r['host'], r['id']) for r in ch['new']] == [('db1', 'role.public_grant')]
    fixed = sorted((r['host'], r['id']) for r in ch['fixed'])
    assert fixed == [('db1', 'health.idle_in_transaction'), ('db3', 'report.no_result')]
    assert [(r['host'], r['id']) for r in ch['still_open']] == [('db2', 'health.checksum_failures')]
    assert 'New: 1, fixed: 2, still open: 1.' in render_markdown(now)
    assert 'Since the previous report' in render_html(now)


def test_markdown_shows_hostile_names_literally():
    from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
    from ansible_collections.pgops.postgresql.plugins.module_utils._report import build, host_entry, render_markdown
    evil = finding('health.sequences', 'warning', 'A sequence is close to exhaustion',
                   obj='app.public.<script>alert(1)</script>', observed='<img src=x onerror=alert(1)>\n# title',
                   expected='**bold** [link](http://x)', remediation='`code` | pipe')
    text = render_markdown(build('t', [host_entry('db<1>', {'findings': [evil]})], 'now'))
    assert '<script>' not in text and '<img' not in text and '<1>' not in text
    assert '&lt;script&gt;' in text and '\\*\\*bold\\*\\*' in text and '\\[link\\]' in text
    assert '\n# title' not in text


def test_an_unknown_severity_is_a_clear_error():
    import pytest
    from ansible_collections.pgops.postgresql.plugins.module_utils._report import host_entry
    with pytest.raises(ValueError) as err:
        host_entry('db1', {'findings': [{'id': 'x.y', 'severity': 'severe', 'object': 'o'}]})
    assert "parameter 'results'" in str(err.value) and "'severe'" in str(err.value) and 'Fix:' in str(err.value)
