# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The DR plan as a Markdown document: one section per cluster, commands in code blocks.

Every value from the inventory or the history goes through ``_md`` (a table cell or a line of
text) or into a fenced block whose fence is longer than any backtick run in it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks.dr import SCENARIOS, TITLES
from ansible_collections.pgops.postgresql.plugins.module_utils._report import _md


def _cell(value):
    return _md(value) if value not in (None, '') else '-'


def _seconds(value):
    return '-' if value is None else '%.1f s' % value


def _fence(text):
    longest = max([len(m) for m in re.findall(r'`+', text)] + [2])
    return '`' * (longest + 1)


def _rehearsed(r):
    if not r['date']:
        return '**never**'
    return '%s (%d days ago, %s)' % (_md(r['date']), r['age_days'], _md(r['by']))


def _cluster(name, p, result, lines):
    lines += ['', '## Cluster %s' % _md(name), '']
    worst = [f for f in result['findings'] if f['severity'] in ('critical', 'warning') and not f.get('waived')]
    if worst:
        lines += ['**Gaps in this plan:**', '']
        lines += ['- %s: %s. %s: %s.' % (_md(f['severity']), _md(f['title']), _md(f['object']), _md(f['observed']))
                  for f in worst]
        lines.append('')
    lines += ['### Topology', '', '| Node | Role | Address | Site | Synchronous |', '|---|---|---|---|---|']
    for h in p['hosts']:
        lines.append('| %s | %s | %s | %s | %s |' % (_cell(h['name']), _cell(h.get('role')), _cell(
            '%s:%s' % (h.get('address') or h['name'], h.get('port') or 5432)), _cell(h.get('site') or 'default'),
            'yes' if h.get('synchronous') else '-'))
    o, m = p['objectives'], p['measured']
    rto = _seconds(o['rto_seconds'])
    restored = '%s on %s' % (m['restore_date'], m['restore_host']) if m['restore_date'] else None
    lost = '%d' % m['drill_rpo_transactions'] if m['drill_rpo_transactions'] is not None else None
    rows = [('Recovery time, failover (drill)', rto, _seconds(m['drill_rto_seconds']), _cell(m['drill_date'])),
            ('Recovery time, restore (restore test)', rto, _seconds(m['restore_rto_seconds']), _cell(restored)),
            ('Recovery time, point in time (drill)', rto, _seconds(m['pitr_rto_seconds']),
             _cell(m['drill_date'] if m['pitr_rto_seconds'] is not None else None)),
            ('Recovery point (acknowledged commits lost in the drill)', _seconds(o['rpo_seconds']), _cell(lost),
             _cell(m['drill_date']))]
    lines += ['', '### Objectives and the last measured values', '', '| | Objective | Last measured | When |',
              '|---|---|---|---|'] + ['| %s | %s | %s | %s |' % row for row in rows]
    lines += ['', 'History read: %d drill record(s), %d restore test(s).' % (p['drills'], p['restore_tests'])]
    r = p['repository']
    lines += ['', '### Backups and WAL', '']
    if r.get('host') or r.get('type'):
        lines += ['| Repository | Type | Path | Stanza | Full backups kept | Encrypted | Site |', '|---|---|---|---|---|---|---|',
                  '| %s | %s | %s | %s | %s | %s | %s |' % (
                      _cell(r.get('host') or 'each database host'), _cell(r.get('type') or 'posix'), _cell(r.get('path')),
                      _cell(r.get('stanza')), _cell(r.get('retention_full')), 'yes' if r.get('encrypted') else 'no',
                      _cell(p['repository_site'] or 'unknown')),
                  '', 'Every node pushes its WAL to the same repository (pgBackRest archive-push), so a promoted standby '
                  'goes on archiving.']
    else:
        lines.append('**No backup repository.** Only the standbys hold the data.')
    lines += ['', '### Who to call', '']
    if p['contacts']:
        lines += ['| Role | Name | Phone | Email |', '|---|---|---|---|']
        lines += ['| %s | %s | %s | %s |' % (_cell(c.get('role')), _cell(c.get('name')), _cell(c.get('phone')),
                                             _cell(c.get('email'))) for c in p['contacts']]
    else:
        lines.append('**Nobody is named** (set `pgops_dr_contacts` in the inventory).')
    for key in SCENARIOS:
        s = p['scenarios'][key]
        lines += ['', '### Scenario: %s' % TITLES[key], '',
                  'Last rehearsed: %s. Data at risk: %s. Runbook: %s.' % (
                      _rehearsed(s['rehearsed']), _md(s['expected_rpo']), _md(s['runbook'])), '']
        for n, (text, command) in enumerate(s['steps'], 1):
            lines.append('%d. %s' % (n, _md(text)))
            if command:
                fence = _fence(command)
                lines += ['', '   %sbash' % fence, '   ' + command.replace('\n', ' '), '   ' + fence, '']


def render_markdown(plans, clusters, date, inventory):
    lines = ['# Disaster recovery plan', '',
             'Written on %s from the inventory `%s` and the drill and restore-test history. Print it, and keep a '
             'copy off the estate: it is needed when the estate is not there. How to use and review it: '
             'docs/business-continuity.md.' % (_md(date), _md(inventory).replace('`', "'")), '',
             '| Cluster | Primary | Nodes | Sites | Gaps |', '|---|---|---|---|---|']
    for name in sorted(plans):
        p = plans[name]
        gaps = clusters[name]['summary']
        lines.append('| %s | %s | %d | %s | %d critical, %d warning |' % (
            _cell(name), _cell(p['primary']), len(p['hosts']),
            _cell(', '.join(sorted(set(h.get('site') or 'default' for h in p['hosts'])))),
            gaps.get('critical', 0), gaps.get('warning', 0)))
    for name in sorted(plans):
        _cluster(name, plans[name], clusters[name], lines)
    return '\n'.join(lines) + '\n'
