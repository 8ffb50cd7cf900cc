#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sla
short_description: Service levels of a month per cluster, from the reports on the controller
version_added: 0.2.0
description:
  - Runs on the controller (delegate it to localhost) and reads what the cadence playbooks already wrote
    under O(report_dir) for O(month) - the daily fleet reports (C(daily/YYYY-MM-DD/fleet-summary.json)), the
    restore test reports (C(restore_test/YYYY-MM-DD/)) and the DR drill history (C(dr_drill/history.jsonl)).
    It connects to no server and writes nothing.
  - "Per cluster: availability (daily checks in which a host of the cluster answered as primary, against
    the checks that ran and found none; a run that did not reach the cluster counts as unknown, never as up),
    the time proven up from each answer's uptime and the restarts seen; the data at risk at each check (RPO:
    the age of the newest archived WAL while the archiver fails, nothing beyond the current WAL segment while
    archiving works, else the age of the newest backup) and the age of the newest backup; the RTO of each
    restore test; each DR drill's RTO, lost transactions and verdict. The findings of the source reports behind
    a missed objective are returned as C(breaches)."
  - "Findings: C(sla.objectives) (warning: an objective is not set), C(sla.coverage) (warning: fewer daily
    verdicts than C(min_coverage_pct) of the days), C(sla.availability), C(sla.rpo) and C(sla.rto) (critical
    when missed; C(sla.rto) is a warning when no restore test ran), C(sla.drill) (critical when a drill missed
    its targets or the objectives, info when none ran this month). Each cluster also gets one plot per
    objective for its HTML report."
  - A report file that can not be read is skipped and counted, never fatal.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.findings
options:
  report_dir:
    description: The reports' root on the controller (C(pgops_report_dir)), holding C(daily/), C(restore_test/)
      and C(dr_drill/).
    type: path
    required: true
  month:
    description: The month to report, as C(YYYY-MM). A month still running is judged up to now.
    type: str
    required: true
  clusters:
    description: The clusters to report, each with its hosts and objectives (playbooks/sla_report.yml builds
      it from the inventory).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The cluster's name in the report.
        type: str
        required: true
      hosts:
        description: Inventory names of its hosts, as they appear in the reports.
        type: list
        elements: str
        required: true
      availability_pct:
        description: Availability objective in percent (C(pgops_sla_availability_pct)), for example 99.9.
        type: float
      rpo_seconds:
        description: Most data that may be lost, in seconds (C(pgops_sla_rpo_seconds)).
        type: float
      rto_seconds:
        description: Longest time to restore service, in seconds (C(pgops_sla_rto_seconds)).
        type: float
  checks:
    description:
      - Names of the checks to run; empty runs all.
      - "Known names: objectives, coverage, availability, rpo, rto, drill."
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
      - "Names and defaults: min_coverage_pct 90 (days of the month with a daily verdict, in percent)."
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
  - module: pgops.postgresql.report
  - module: pgops.postgresql.restore_test
'''

EXAMPLES = r'''
- name: Service levels of last month
  pgops.postgresql.sla:
    report_dir: /var/lib/pgops/reports
    month: "2026-11"
    clusters:
      - name: orders
        hosts: [db1, db2, db3]
        availability_pct: 99.9
        rpo_seconds: 300
        rto_seconds: 900
  delegate_to: localhost
  run_once: true
  register: sla
'''

RETURN = r'''
clusters:
  description: Per cluster, its C(findings), C(summary), C(metrics) (the figures - availability_pct,
    proven_up_pct, up_runs, down_runs, unknown_runs, coverage_pct, restarts, worst_rpo, rpo, restore_tests,
    drills, objectives, breaches) and C(plots); the shape the report module takes as results.
  returned: always
  type: dict
month:
  description: The month reported.
  returned: always
  type: str
unreadable_reports:
  description: Report files that could not be read.
  returned: always
  type: int
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import sla
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import (
    Pipeline, run_module, selection_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, sort_findings, summarize, waiver_argument_spec)

OBJECTIVES = (('availability_pct', 100.0), ('rpo_seconds', None), ('rto_seconds', None))


def validate(params):
    if not sla.MONTH.match(params['month'] or ''):
        raise ParameterError('month', '%r is not a month' % (params['month'],), 'give YYYY-MM, as 2026-11')
    names = set()
    for n, c in enumerate(params['clusters']):
        where = 'clusters[%d]' % n
        _validate.one_line(c['name'], where + '.name')
        if c['name'] in names:
            raise ParameterError(where + '.name', '%r is given twice' % c['name'], 'give each cluster once')
        names.add(c['name'])
        if not c['hosts']:
            raise ParameterError(where + '.hosts', 'is empty', 'give the inventory names of its hosts')
        for host in c['hosts']:
            _validate.one_line(host, where + '.hosts')
            if '/' in host or host in ('', '.', '..'):
                raise ParameterError(where + '.hosts', '%r is not an inventory name' % host, 'give inventory host names')
        for key, most in OBJECTIVES:
            value = c.get(key)
            if value is not None and (value <= 0 or (most is not None and value > most)):
                raise ParameterError('%s.%s' % (where, key), '%r is out of range' % value,
                                     'give a number above 0%s' % (' and at most %s' % most if most else ''))


def run(params):
    # the pipeline's validation (thresholds, check names, waivers); nothing connects
    pipeline = Pipeline(sla.REGISTRY, params, 'pgops_sla')
    validate(params)
    everyone = sorted(set(h for c in params['clusters'] for h in c['hosts']))
    data, unreadable = sla.load(params['report_dir'], params['month'], everyone)
    out = {}
    for c in params['clusters']:
        hosts = set(c['hosts'])
        mine = {'daily': [r for r in data['daily'] if hosts & set(r['hosts'])],
                'restore_test': [r for r in data['restore_test'] if hosts & set(r['hosts'])],
                'drills': [d for d in data['drills'] if hosts & set(str(d.get('cluster', '')).split(','))]}
        facts = sla.analyse(c['name'], c['hosts'], mine, params['month'], time.time())
        facts['objectives'] = dict((k, c.get(k)) for k, dummy in OBJECTIVES)
        findings = pipeline.registry.evaluate(facts, pipeline.thresholds, pipeline.selected)
        facts['breaches'] = sla.breaches(facts, findings)
        findings = sort_findings(apply_waivers(findings, pipeline.waivers))
        out[c['name']] = {'findings': findings, 'summary': summarize(findings), 'metrics': facts,
                          'plots': sla.plots(facts)}
    return dict(changed=False, clusters=out, month=params['month'], unreadable_reports=unreadable)


def main():
    spec = waiver_argument_spec()
    spec.update(selection_argument_spec(cadence=False))
    spec.update(
        report_dir=dict(type='path', required=True),
        month=dict(type='str', required=True),
        clusters=dict(type='list', elements='dict', required=True, options=dict(
            name=dict(type='str', required=True),
            hosts=dict(type='list', elements='str', required=True),
            availability_pct=dict(type='float'),
            rpo_seconds=dict(type='float'),
            rto_seconds=dict(type='float'),
        )),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
