# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Reports: one data shape, rendered to JSON, Markdown and a self-contained HTML page."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from html import escape as _escape
except ImportError:  # pragma: no cover - Python 2
    from cgi import escape as _escape

from ansible_collections.pgops.postgresql.plugins.module_utils import _plots
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    SEVERITIES, failing, finding, rank, sort_findings, summarize)

FORMATS = {'json': 'json', 'markdown': 'md', 'html': 'html', 'junit': 'xml'}


def host_entry(host, result):
    """One host's part of a report from a checking module's result (or None when it has none)."""
    if not isinstance(result, dict) or 'findings' not in result:
        msg = (result or {}).get('msg') if isinstance(result, dict) else None
        findings = [finding('report.no_result', 'critical', 'No result from this host',
                            obj=host, observed=msg or 'the check did not run (host unreachable or failed)',
                            expected='a result', remediation='Look at the play output for this host and '
                                                             'run the check again.')]
        return {'host': host, 'findings': findings, 'summary': summarize(findings), 'metrics': {}}
    for f in result['findings']:
        if not isinstance(f, dict) or f.get('severity') not in SEVERITIES:
            raise ValueError("parameter 'results': a finding of host %s has severity %r (%s). Fix: use one of %s" % (
                host, f.get('severity') if isinstance(f, dict) else None,
                f.get('id') if isinstance(f, dict) else f, ', '.join(SEVERITIES)))
    findings = sort_findings(result['findings'])
    entry = {'host': host, 'findings': findings, 'summary': summarize(findings),
             'metrics': result.get('metrics') or {}}
    if any(f.get('section') for f in findings):
        entry['scores'] = section_scores(findings)
    plots = [p for p in (result.get('plots') or []) if _plots.valid(p)]
    if plots:
        entry['plots'] = plots
    return entry


def _open_keys(report):
    return set((h['host'], f['id'], str(f['object'])) for h in report.get('hosts', []) for f in h['findings']
               if f['severity'] != 'ok' and not f.get('waived'))


def compare(current, previous):
    """What changed since a previous report: new, fixed and still-open findings (by host, id, object)."""
    now, before = _open_keys(current), _open_keys(previous)

    def rows(keys):
        return [{'host': h, 'id': i, 'object': o} for h, i, o in sorted(keys)]
    return {'previous_generated_at': previous.get('generated_at'), 'new': rows(now - before),
            'fixed': rows(before - now), 'still_open': rows(now & before)}


def build(title, hosts, generated_at, fail_on='critical', previous=None):
    """``hosts``: list of host entries. Returns the report every renderer takes."""
    hosts = sorted(hosts, key=lambda h: (-rank(h['summary']['worst']), h['host']))
    all_findings = [f for h in hosts for f in h['findings']]
    summary = summarize(all_findings)
    summary['hosts'] = len(hosts)
    summary['failing_hosts'] = [h['host'] for h in hosts if failing(h['findings'], fail_on)]
    summary['fail_on'] = fail_on
    report = {'title': title, 'generated_at': generated_at, 'summary': summary, 'hosts': hosts}
    if previous is not None:
        report['changes'] = compare(report, previous)
    return report


def _changes_md(changes):
    lines = ['## Since the previous report (%s)' % changes['previous_generated_at'], '',
             'New: %d, fixed: %d, still open: %d.' % (
                 len(changes['new']), len(changes['fixed']), len(changes['still_open'])), '']
    for label in ('new', 'fixed'):
        for row in changes[label]:
            lines.append('- %s: %s `%s` on %s' % (label, _md(row['host']), row['id'], _md(row['object'])))
    return lines


def render_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + '\n'


_MD_SPECIAL = re.compile(r'([\\`*_\[\]()#|!~])')


def _md(text):
    """Text as Markdown shows it literally: no tag reaches a renderer (< and > as entities),
    Markdown punctuation backslash-escaped, one line."""
    value = str(text if text is not None else '').replace('<', '&lt;').replace('>', '&gt;')
    return _MD_SPECIAL.sub(r'\\\1', re.sub(r'[\r\n]+', ' ', value))


def _md_row(row):
    """A Markdown table row of plot numbers: series and labels are data, so no line break may end it."""
    return re.sub(r'[\r\n]+', ' ', row)


def _counts(summary):
    return ', '.join('%s %d' % (s, summary[s]) for s in reversed(SEVERITIES)) + ', waived %d' % summary['waived']


def render_markdown(report):
    s = report['summary']
    lines = ['# %s' % _md(report['title']), '', 'Generated %s.' % _md(report['generated_at']), '',
             '**Status: %s**. %d host(s): %s.' % (s['worst'].upper(), s['hosts'], _counts(s)), '']
    if s['failing_hosts']:
        lines += ['Hosts with unwaived findings at or above %s: %s.' % (
            s['fail_on'], ', '.join(_md(h) for h in s['failing_hosts'])), '']
    lines += ['| Host | Worst | Critical | Warning | Info | OK | Waived |', '|---|---|---|---|---|---|---|']
    for h in report['hosts']:
        hs = h['summary']
        lines.append('| %s | %s | %d | %d | %d | %d | %d |' % (
            _md(h['host']), hs['worst'], hs['critical'], hs['warning'], hs['info'], hs['ok'], hs['waived']))
    if report.get('changes'):
        lines += [''] + _changes_md(report['changes'])
    for h in report['hosts']:
        lines += ['', '## %s' % _md(h['host']), '']
        if h.get('scores'):
            lines += ['| Section | Passed | Score |', '|---|---|---|']
            lines += ['| %s | %d of %d | %.1f%% |' % (_md(sec), sc['passed'], sc['checks'], sc['score'])
                      for sec, sc in sorted(h['scores'].items())] + ['']
        problems = [f for f in h['findings'] if f['severity'] != 'ok']
        if not problems:
            lines.append('No findings above ok.')
        for f in problems:
            tag = ' (waived until %s: %s)' % (f['waiver']['expires'], _md(f['waiver']['reason'])) if f.get('waived') else ''
            lines += ['### %s: %s%s' % (f['severity'].upper(), _md(f['title']), tag), '',
                      '- id: `%s`' % f['id'], '- object: %s' % _md(f['object']),
                      '- observed: %s' % _md(f['observed']), '- expected: %s' % _md(f['expected']),
                      '- remediation: %s' % _md(f['remediation']), '']
        oks = [f['id'] for f in h['findings'] if f['severity'] == 'ok']
        if oks:
            lines += ['', 'Passed: %s' % ', '.join('`%s`' % i for i in oks)]
        for plot in h.get('plots') or []:
            lines += ['', '### %s' % _md(plot.get('title', '')), ''] + [_md_row(r) for r in _plots.table(plot)]
    return '\n'.join(lines).rstrip() + '\n'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f23;background:#f6f8fa}
header{padding:16px 24px;color:#fff}header h1{margin:0;font-size:22px}header p{margin:4px 0 0}
.sev-critical{background:#b3261e}.sev-warning{background:#b86e00}.sev-info{background:#1f5fa8}.sev-ok{background:#2e7d32}
main{padding:16px 24px;max-width:1100px}
.counts span{display:inline-block;margin:0 8px 8px 0;padding:6px 12px;border-radius:4px;color:#fff;font-weight:600}
.counts .waived{background:#6a737d}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0 16px}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top;font-size:14px}
th{background:#eaeef2}
.finding{background:#fff;border-left:6px solid #999;margin:8px 0;padding:8px 12px}
.finding.critical{border-color:#b3261e}.finding.warning{border-color:#b86e00}.finding.info{border-color:#1f5fa8}
.finding h4{margin:0 0 4px}.finding dl{margin:0;display:grid;grid-template-columns:120px 1fr;gap:2px 8px}
.finding dt{font-weight:600;color:#57606a}.finding dd{margin:0;word-break:break-word}
.waived{opacity:.75}.badge{font-size:12px;padding:1px 6px;border-radius:3px;color:#fff}
code{font-size:13px}
.plots figure{background:#fff;border:1px solid #d0d7de;margin:8px 0;padding:4px;display:inline-block;max-width:100%}
.plots svg{max-width:100%;height:auto;font-family:inherit}
"""


def _h(text):
    return _escape(str(text if text is not None else ''), quote=True)


def _finding_html(f):
    waived = ''
    if f.get('waived'):
        waived = ' <span class="badge waived" style="background:#6a737d">waived until %s: %s</span>' % (
            _h(f['waiver']['expires']), _h(f['waiver']['reason']))
    return ('<div class="finding %s%s"><h4><span class="badge sev-%s">%s</span> %s%s</h4><dl>'
            '<dt>Object</dt><dd>%s</dd><dt>Observed</dt><dd>%s</dd><dt>Expected</dt><dd>%s</dd>'
            '<dt>Remediation</dt><dd>%s</dd><dt>Id</dt><dd><code>%s</code></dd></dl></div>') % (
        _h(f['severity']), ' waived' if f.get('waived') else '', _h(f['severity']), _h(f['severity'].upper()),
        _h(f['title']), waived, _h(f['object']), _h(f['observed']), _h(f['expected']), _h(f['remediation']),
        _h(f['id']))


def render_html(report):
    s = report['summary']
    # The policy forbids every load: the page is self-contained, and no text in it can fetch anything.
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>%s</title><style>%s</style></head><body>' % (_h(report['title']), _CSS),
           '<header class="sev-%s"><h1>%s: %s</h1><p>Generated %s. %d host(s).</p></header><main>' % (
               _h(s['worst']), _h(report['title']), _h(s['worst'].upper()), _h(report['generated_at']), s['hosts'])]
    out.append('<div class="counts">%s<span class="waived">waived %d</span></div>' % (
        ''.join('<span class="sev-%s">%s %d</span>' % (sev, sev, s[sev]) for sev in reversed(SEVERITIES)),
        s['waived']))
    if s['failing_hosts']:
        out.append('<p><strong>Needs action (unwaived at or above %s):</strong> %s</p>' % (
            _h(s['fail_on']), _h(', '.join(s['failing_hosts']))))
    out.append('<table><tr><th>Host</th><th>Worst</th><th>Critical</th><th>Warning</th><th>Info</th>'
               '<th>OK</th><th>Waived</th></tr>')
    for h in report['hosts']:
        hs = h['summary']
        out.append('<tr><td><a href="#host-%s">%s</a></td><td><span class="badge sev-%s">%s</span></td>'
                   '<td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td></tr>' % (
                       _h(h['host']), _h(h['host']), _h(hs['worst']), _h(hs['worst']), hs['critical'],
                       hs['warning'], hs['info'], hs['ok'], hs['waived']))
    out.append('</table>')
    ch = report.get('changes')
    if ch:
        out.append('<h2>Since the previous report (%s)</h2><p>New: %d, fixed: %d, still open: %d.</p><ul>%s</ul>' % (
            _h(ch['previous_generated_at']), len(ch['new']), len(ch['fixed']), len(ch['still_open']),
            ''.join('<li>%s: %s <code>%s</code> on %s</li>' % (label, _h(r['host']), _h(r['id']), _h(r['object']))
                    for label in ('new', 'fixed') for r in ch[label])))
    for h in report['hosts']:
        out.append('<h2 id="host-%s">%s</h2>' % (_h(h['host']), _h(h['host'])))
        if h.get('scores'):
            out.append('<table><tr><th>Section</th><th>Passed</th><th>Score</th></tr>%s</table>' % ''.join(
                '<tr><td>%s</td><td>%d of %d</td><td>%.1f%%</td></tr>' % (_h(sec), sc['passed'], sc['checks'],
                                                                          sc['score'])
                for sec, sc in sorted(h['scores'].items())))
        for sev in ('critical', 'warning', 'info'):
            items = [f for f in h['findings'] if f['severity'] == sev]
            if items:
                out.append('<h3>%s (%d)</h3>' % (_h(sev.capitalize()), len(items)))
                out.extend(_finding_html(f) for f in items)
        oks = [f for f in h['findings'] if f['severity'] == 'ok']
        if oks:
            out.append('<details><summary>Passed checks (%d)</summary><ul>%s</ul></details>' % (
                len(oks), ''.join('<li><code>%s</code> %s</li>' % (_h(f['id']), _h(f['title'])) for f in oks)))
        plots = [_plots.svg(p) for p in h.get('plots') or []]
        if any(plots):
            out.append('<section class="plots">%s</section>' % ''.join(plots))
        if h.get('metrics'):
            out.append('<details><summary>Metrics</summary><pre>%s</pre></details>' % _h(
                json.dumps(h['metrics'], indent=2, sort_keys=True, default=str)))
    out.append('</main></body></html>')
    return '\n'.join(out) + '\n'


def section_scores(findings):
    """Per section: checks passed / checks run, as a percentage (waived counts as passed).

    A check passes when none of its unwaived findings is a warning or critical.
    """
    checks = {}
    for f in findings:
        section = f.get('section') or 'general'
        failed = not f.get('waived') and f['severity'] in ('warning', 'critical')
        key = (section, f['id'])
        checks[key] = checks.get(key, False) or failed
    scores = {}
    for (section, dummy), failed in checks.items():
        total, passed = scores.get(section, (0, 0))
        scores[section] = (total + 1, passed + (0 if failed else 1))
    return dict((s, {'checks': t, 'passed': p, 'score': round(100.0 * p / t, 1)}) for s, (t, p) in scores.items())


def render_junit(report):
    """JUnit XML: a test suite per host, a test case per finding; warning and critical fail,
    waived findings are skipped with their reason."""
    from xml.sax.saxutils import quoteattr, escape
    suites = []
    for h in report['hosts']:
        cases = []
        failures = skipped = 0
        for f in h['findings']:
            name = '%s %s' % (f['id'], f['object'])
            body = ''
            if f.get('waived'):
                skipped += 1
                body = '<skipped message=%s/>' % quoteattr('waived until %s: %s' % (
                    f['waiver']['expires'], f['waiver']['reason']))
            elif f['severity'] in ('warning', 'critical'):
                failures += 1
                body = '<failure type=%s message=%s>%s</failure>' % (
                    quoteattr(f['severity']), quoteattr(f['title']), escape(
                        'observed: %s\nexpected: %s\nremediation: %s' % (f['observed'], f['expected'],
                                                                         f['remediation'])))
            cases.append('    <testcase classname=%s name=%s>%s</testcase>' % (
                quoteattr('%s.%s' % (h['host'], f.get('section') or f['id'].split('.')[0])), quoteattr(name), body))
        suites.append('  <testsuite name=%s tests="%d" failures="%d" errors="0" skipped="%d" timestamp=%s>\n%s\n'
                      '  </testsuite>' % (quoteattr(h['host']), len(cases), failures, skipped,
                                          quoteattr(str(report['generated_at'])), '\n'.join(cases)))
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name=%s>\n%s\n</testsuites>\n' % (
        quoteattr(report['title']), '\n'.join(suites))


RENDERERS = {'json': render_json, 'markdown': render_markdown, 'html': render_html, 'junit': render_junit}
