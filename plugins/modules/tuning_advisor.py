#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tuning_advisor
short_description: Compare the running settings with recommendations from the host and the workload (read-only)
version_added: 0.2.0
description:
  - Recommends C(shared_buffers), C(effective_cache_size), C(work_mem) (with what it can add up to at the
    connection count), C(maintenance_work_mem), C(max_wal_size), C(checkpoint_completion_target),
    C(random_page_cost), C(effective_io_concurrency), the parallel workers, C(max_worker_processes) and
    C(huge_pages) from the host's memory (its cgroup limit when lower) and CPUs, the O(storage) type, the
    O(workload) and the connection count, each with its reasoning (docs/guides/performance-tuning.md).
  - A running value more than C(tolerance_pct) away from its recommendation is an info finding whose remediation is
    the C(postgresql_settings) line to apply; RV(postgresql_settings) holds every recommendation as one block.
  - One statement on the server (C(pg_settings)); run it on the database host so that it sees the host's memory and
    CPUs, or give O(memory) and O(cpus).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  workload:
    description: V(web) (many short queries), V(oltp) (transactions), V(dw) (a warehouse, few large queries),
      V(mixed), V(desktop) (a developer's machine).
    type: str
    choices: [web, oltp, dw, mixed, desktop]
    default: mixed
  storage:
    description: What the data directory is on.
    type: str
    choices: [ssd, hdd, san]
    default: ssd
  memory:
    description: The memory to plan for (C(64GB), C(512MB)); the host's (or its cgroup limit) when left out.
    type: str
  cpus:
    description: The CPUs to plan for; the ones this process may use when left out.
    type: int
  connections:
    description: The connections to plan C(work_mem) for; the server's C(max_connections) when left out.
    type: int
  checks:
    description:
      - The settings to check (all when empty).
      - "Known names: shared_buffers, effective_cache_size, work_mem, maintenance_work_mem, max_wal_size,
        checkpoint_completion_target, random_page_cost, effective_io_concurrency,
        max_parallel_workers_per_gather, max_parallel_workers, max_worker_processes, huge_pages."
    type: list
    elements: str
    default: []
  skip_checks:
    description: Settings not to check.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - "Names and defaults: tolerance_pct 50 (a numeric setting within this share of its recommendation
        passes (the formulas are starting points, not targets))."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing is changed.
seealso:
  - module: pgops.postgresql.settings
  - module: pgops.postgresql.performance_review
'''

EXAMPLES = r'''
- name: Compare the settings with the recommendations for a transactional load on SSD
  pgops.postgresql.tuning_advisor:
    workload: oltp
    storage: ssd
  register: tuning

- name: Plan a new 64 GB, 16-CPU server for 300 connections
  pgops.postgresql.tuning_advisor:
    workload: web
    memory: 64GB
    cpus: 16
    connections: 300
'''

RETURN = r'''
recommendations:
  description: Per setting, the recommended C(value), the C(running) one and the C(reasoning).
  returned: success
  type: dict
postgresql_settings:
  description: Every recommendation as a C(postgresql_settings) block for the inventory.
  returned: success
  type: dict
host:
  description: What the plan is for (C(memory_bytes), C(cpus), C(connections), C(workload), C(storage)).
  returned: success
  type: dict
findings:
  description: A finding per setting away from its recommendation (info), an C(ok) one per setting that is not.
  returned: success
  type: list
  elements: dict
summary:
  description: Findings by severity.
  returned: success
  type: dict
queries:
  description: The statements run.
  returned: always
  type: list
  elements: str
'''

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import tuning
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import (
    Pipeline, run_module, selection_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec

_MEMORY = re.compile(r'^\s*(\d+)\s*(kB|MB|GB|TB)\s*$')


def memory_of(text):
    found = _MEMORY.match(text or '')
    if not found:
        raise ParameterError('memory', '%r is not a size' % (text,), 'give a whole number and kB, MB, GB or TB, e.g. 64GB')
    return int(found.group(1)) * {'kB': 1024, 'MB': 1024 ** 2, 'GB': 1024 ** 3, 'TB': 1024 ** 4}[found.group(2)]


def run(p):
    memory = memory_of(p['memory']) if p['memory'] is not None else tuning.host_memory()
    if not memory:
        raise ParameterError('memory', 'the host memory can not be read here', 'give memory, e.g. 64GB')
    cpus = p['cpus'] if p['cpus'] is not None else tuning.host_cpus()
    for name in ('cpus', 'connections'):
        if p[name] is not None and p[name] < 1:
            raise ParameterError(name, 'must be at least 1', 'give a whole number, or leave it out')
    pipeline = Pipeline(tuning.REGISTRY, p, 'pgops_tuning_advisor')
    session = pipeline.connect()
    try:
        rows = session.fetch_all(tuning.SETTINGS_SQL, {'names': list(tuning.SETTINGS) + ['max_connections']})
    finally:
        session.close()
    settings = dict((r['name'], r) for r in rows)
    connections = p['connections'] or int(settings['max_connections']['setting'])
    recommended = tuning.recommend(memory, cpus, p['workload'], p['storage'], connections)
    findings = pipeline.registry.evaluate({'settings': settings, 'recommended': recommended}, pipeline.thresholds,
                                          pipeline.selected)
    recommendations = dict((name, dict(value=value, reasoning=why,
                                       running=(settings.get(name) or {}).get('setting')))
                           for name, (value, dummy, why) in recommended.items())
    return pipeline.finish(findings, recommendations=recommendations,
                           postgresql_settings=dict((n, r['value']) for n, r in recommendations.items()),
                           host=dict(memory_bytes=memory, cpus=cpus, connections=connections,
                                     workload=p['workload'], storage=p['storage']))


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec(cadence=False))
    spec.update(workload=dict(type='str', default='mixed', choices=list(tuning.WORKLOADS)),
                storage=dict(type='str', default='ssd', choices=list(tuning.STORAGE)),
                memory=dict(type='str'), cpus=dict(type='int'), connections=dict(type='int'))
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
