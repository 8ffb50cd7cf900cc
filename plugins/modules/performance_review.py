#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: performance_review
short_description: Monthly performance review from pg_stat_statements, with regressions against the previous snapshot
version_added: 0.2.0
description:
  - Read-only. Every transaction is READ ONLY; four statements whatever the number of statements tracked
    (the privilege probe, where pg_stat_statements is, the server figures, the statements ranked and
    capped on the server).
  - "Top statements of the period by total time, mean time, calls, shared blocks read and temporary
    blocks written; the server-wide figures since the statistics reset (cache hit, temporary files,
    checkpoints requested against timed, buffers written by backends)."
  - With O(baseline) (the C(snapshot) the previous run returned, kept on the controller by the monthly
    playbook) the figures are those of the period between the two runs. A statement whose mean time
    over this period grew by more than C(regression_pct) is a C(perf.regression) warning; a statement
    absent from the baseline taking C(new_heavy_pct) of the time is C(perf.new_heavy) (info).
  - Without pg_stat_statements (not in C(shared_preload_libraries), or not created in the login
    database) the review says so (C(perf.unavailable)) with the settings that enable it.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  baseline:
    description: The C(snapshot) a previous run returned; unset for the first run.
    type: dict
  top:
    description: How many statements each top list holds.
    type: int
    default: 10
  snapshot_size:
    description: How many statements (by total time) the snapshot keeps for the next comparison.
    type: int
    default: 500
  checks:
    description:
      - Names of the checks to run; empty runs those of O(cadence), or all of them.
      - "Known names: unavailable, regression, new_heavy, checkpoints."
    type: list
    elements: str
    default: []
  skip_checks:
    description: Names of checks not to run.
    type: list
    elements: str
    default: []
  cadence:
    description: Run the checks registered for this cadence when O(checks) is empty.
    type: str
    choices: [daily, weekly, monthly, quarterly]
  thresholds:
    description:
      - Overrides of the default thresholds, by name.
      - "Names and defaults: regression_pct 50 (warning when a mean time grew by more than this percentage);
        regression_min_calls 50 (statements called fewer times in the period are not judged);
        regression_min_mean_ms 1 (statements faster than this are not judged); new_heavy_pct 5 (a statement
        absent last period taking this share of the time); checkpoints_requested_pct 50 (warning when this
        share of checkpoints was requested); checkpoints_min 10 (fewer checkpoints in all are not judged)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The same read-only statements run in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
notes:
  - "Reset policy: do not reset pg_stat_statements (C(pg_stat_statements_reset())) on a schedule; the
    review works from differences between snapshots, and a reset between two runs only makes that
    period start at the reset. Reset after a release that changes many statements, if the old ones
    crowd out the new (C(pg_stat_statements.max))."
seealso:
  - module: pgops.postgresql.index_review
'''

EXAMPLES = r'''
- name: Review the statements against last month's snapshot
  pgops.postgresql.performance_review:
    login_unix_socket: /var/run/postgresql
    baseline: "{{ lookup('ansible.builtin.file', 'statements-db1.json') | from_json }}"
  register: perf

- name: Keep this month's snapshot
  ansible.builtin.copy:
    content: "{{ perf.snapshot | to_json }}"
    dest: statements-db1.json
    mode: "0640"
  delegate_to: localhost
'''

RETURN = r'''
findings:
  description: Findings (perf.* ids), worst first.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
top:
  description: The period's top statements by total_ms, mean_ms, calls, shared_blks_read and temp_blks_written.
  returned: always
  type: dict
plots:
  description: The report's picture (top statements by total time in the period), for the report module.
  returned: always
  type: list
  elements: dict
server:
  description: cache_hit_pct, temp_files, temp_bytes, checkpoints_timed, checkpoints_requested, buffers_backend, buffers_written.
  returned: always
  type: dict
snapshot:
  description: The counters to pass as O(baseline) next time (taken_at, statements by database/role/queryid).
  returned: when pg_stat_statements is available
  type: dict
period:
  description: What the figures cover (since the baseline's taken_at, or since the statistics reset).
  returned: always
  type: str
queries:
  description: SQL statements run.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of statements.
  returned: always
  type: int
'''

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import performance as perf
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec


def run(params):
    _validate.at_least(params, 'top', 1)
    _validate.at_least(params, 'snapshot_size', 1)
    pipeline = Pipeline(perf.REGISTRY, params, 'pgops_performance_review', 120000)
    baseline = perf.parse_baseline(params['baseline'])
    session = pipeline.connect()
    try:
        pipeline.probe(session, 'statistics views')
        facts = perf.collect(session, params['top'], params['snapshot_size'])
    finally:
        session.close()
    taken_at = datetime.datetime.utcnow().replace(microsecond=0).isoformat() + 'Z'
    rows = perf.period(facts['statements']['rows'], baseline) if facts['statements'] else []
    facts.update(period=rows, baseline=baseline)
    extra = dict(top=perf.tops(rows, params['top']), server=facts['server'],
                 period='since %s' % baseline.get('taken_at', 'the previous snapshot') if baseline
                 else 'since the statistics reset')
    extra['plots'] = perf.plots(extra['top'])
    if facts['statements'] is not None:
        extra['snapshot'] = perf.snapshot(rows, taken_at)
        extra['statements_tracked'] = facts['statements']['statements']
    return pipeline.finish(pipeline.registry.evaluate(facts, pipeline.thresholds, pipeline.selected), **extra)


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec())
    spec.update(
        baseline=dict(type='dict'),
        top=dict(type='int', default=10),
        snapshot_size=dict(type='int', default=500),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
