#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: capacity
short_description: Disk growth and a days-until-full forecast per host from the history of daily reports
version_added: 0.2.0
description:
  - Runs on the controller (delegate it to localhost) and reads the per-host JSON reports that
    C(playbooks/daily.yml) writes under O(history_dir) (C(YYYY-MM-DD/<host>.json)); it connects to no
    server and writes nothing.
  - "For each host, over the last C(window_days) days of reports: the used bytes of the data directory's
    file system (and of pg_wal's when it is another one) fitted against days by least squares; the
    growth per day, the days until full, and a band from the slope's standard error (two each way, about
    95 %); the growth of pg_wal, of each database and of the largest tables."
  - "Findings: C(capacity.forecast) (warning or critical when a file system is full within
    C(days_full_warning) or C(days_full_critical) days), C(capacity.table_growth) (info: a large table
    that grew by C(table_growth_pct) over the window), C(capacity.history) (info: fewer than
    C(min_points) reports, no forecast). Each host also gets plots for its HTML report."
  - A report file that can not be read is skipped and counted, never fatal.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.findings
options:
  history_dir:
    description: The daily reports' directory on the controller (C({{ pgops_report_dir }}/daily)).
    type: path
    required: true
  hosts:
    description: Inventory names whose history is read.
    type: list
    elements: str
    required: true
  checks:
    description:
      - Names of the checks to run; empty runs all.
      - "Known names: history, forecast, table_growth."
    type: list
    elements: str
    default: []
  skip_checks:
    description: Names of checks not to run.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - Overrides of the default thresholds, by name.
      - "Names and defaults: min_points 5 (daily reports needed for a forecast); window_days 30 (days of daily
        reports the forecast is fitted over); days_full_warning 90 (warning when full within this many days);
        days_full_critical 30 (critical when full within this many days); table_growth_pct 50 (a table that
        grew by this percentage over the window); table_growth_min_bytes 10485760 (smaller tables are not
        reported)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: It only reads files.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgops.postgresql.health_check
  - module: pgops.postgresql.report
'''

EXAMPLES = r'''
- name: Forecast disk use from the daily reports
  pgops.postgresql.capacity:
    history_dir: /var/lib/pgops/reports/daily
    hosts: "{{ ansible_play_hosts_all }}"
    thresholds:
      window_days: 60
  delegate_to: localhost
  run_once: true
  register: capacity
'''

RETURN = r'''
hosts:
  description: Per host, its C(findings), C(summary), C(capacity) (file systems with growth and forecast,
    WAL, databases, tables) and C(plots).
  returned: always
  type: dict
unreadable_reports:
  description: Report files that could not be read.
  returned: always
  type: int
window:
  description: The dates the forecast covers (first, last).
  returned: always
  type: list
  elements: str
'''

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import capacity
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import run_module, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, parse_waivers, sort_findings, summarize, waiver_argument_spec)


def run(params):
    registry = capacity.REGISTRY
    th = registry.validate_thresholds(params['thresholds'])
    selected = registry.select(params['checks'], params['skip_checks'])
    waivers = parse_waivers(params['waivers'], known_ids=registry.ids)
    for host in params['hosts']:
        _validate.one_line(host, 'hosts')
        if '/' in host or host in ('', '.', '..'):
            raise ParameterError('hosts', '%r is not an inventory name' % host, 'give inventory host names')
    if th['window_days'] < 1:
        raise ParameterError('thresholds.window_days', 'is 0', 'give 1 or more days')
    known = capacity.days(params['history_dir'])
    last = known[-1] if known else datetime.date.today()
    since = last - datetime.timedelta(days=int(th['window_days']))
    latest, unreadable = capacity.history(params['history_dir'], params['hosts'], since)
    out = {}
    for host in params['hosts']:
        series = latest[host]
        facts = capacity.analyse(series, int(th['window_days']))
        facts.setdefault('tables', [])
        facts.setdefault('filesystems', [])
        findings = registry.evaluate(facts, th, selected) if series else registry.evaluate(
            dict(facts, points=0), th, [n for n in selected if n == 'history'])
        findings = sort_findings(apply_waivers(findings, waivers))
        out[host] = {'findings': findings, 'summary': summarize(findings), 'capacity': facts,
                     'plots': capacity.plots(host, facts) if series else []}
    return dict(changed=False, hosts=out, unreadable_reports=unreadable,
                window=[since.isoformat(), last.isoformat()])


def main():
    spec = waiver_argument_spec()
    spec.update(selection_argument_spec(cadence=False))
    spec.update(
        history_dir=dict(type='path', required=True),
        hosts=dict(type='list', elements='str', required=True),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
