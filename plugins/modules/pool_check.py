#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pool_check
short_description: Pool health of a pgbouncer instance, from its admin console
version_added: 0.2.0
description:
  - Connects to the admin console of one pgbouncer instance (the virtual database C(pgbouncer)) as a
    C(stats_users) login and runs four SHOW commands whatever the number of pools (POOLS, DATABASES, LISTS,
    CONFIG). A stats login may run nothing else, so the module can not change the pooler.
  - "Findings: C(pool.clients_waiting) (clients waiting for a server connection in a pool),
    C(pool.maxwait) (how long the oldest waiting client has waited), C(pool.saturation) (a pool using most of
    its size), C(pool.client_connections) (client connections against C(max_client_conn)). The metrics hold each
    pool's clients, server connections, size and wait."
  - The connection options are those of the other modules, pointed at pgbouncer (O(login_port) its port,
    O(login_user) a stats login); O(login_db) is not used.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  instance:
    description: The instance's name in the findings and the metrics.
    type: str
    default: pgbouncer
  checks:
    description:
      - Names of the checks to run; empty runs all.
      - "Known names: clients_waiting, maxwait, saturation, client_connections."
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
      - "Names and defaults: waiting_clients_warning 1 (warning at this many clients waiting in one pool);
        waiting_clients_critical 20 (critical at this many); maxwait_warning_s 1 (warning when the oldest
        waiting client waited this long); maxwait_critical_s 10 (critical at this wait);
        pool_usage_warning_pct 90 (warning when a pool uses this share of its size); client_conn_warning_pct
        80 (warning at this share of max_client_conn); client_conn_critical_pct 95 (critical at this share)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Read the pools of the application's pgbouncer
  pgops.postgresql.pool_check:
    instance: app
    login_host: localhost
    login_port: 6432
    login_user: pgops_pool_monitor
    login_password: "{{ vault_pool_monitor_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/pgops/pki/ca.crt
    thresholds:
      maxwait_warning_s: 0.5
  register: pools
'''

RETURN = r'''
findings:
  description: Findings (pool.* ids), worst first; objects are C(database/user) pools.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
metrics:
  description: C(instance), C(pools) (per pool - clients active and waiting, server connections, pool size, the
    oldest wait in seconds), C(used_clients), C(max_client_conn), the list counts and the bounding settings.
  returned: always
  type: dict
queries:
  description: The console commands run.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of commands (four).
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import pools
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import (
    Pipeline, run_module, selection_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    connect_console, connection_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec


def run(params):
    pipeline = Pipeline(pools.REGISTRY, params, 'pgops_pool_check')
    _validate.one_line(params['instance'], 'instance')
    session = connect_console(params, pipeline.queries, 'pgops_pool_check')
    try:
        facts = pools.collect(session)
    finally:
        session.close()
    facts['instance'] = params['instance']
    for p in facts['pools']:
        p['instance'] = params['instance']
    findings = pipeline.registry.evaluate(facts, pipeline.thresholds, pipeline.selected)
    # one instance among several in a host's report: every finding names it
    for f in findings:
        f['object'] = params['instance'] if f['severity'] == 'ok' else '%s: %s' % (params['instance'], f['object'])
    return pipeline.finish(findings, metrics=facts)


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec(cadence=False))
    spec.update(instance=dict(type='str', default='pgbouncer'))
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
