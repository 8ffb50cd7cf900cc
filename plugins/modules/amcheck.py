#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: amcheck
short_description: Verify btree indexes and tables with amcheck, a rotating subset per run within a time budget
version_added: 0.2.0
description:
  - Read-only. Runs C(bt_index_check) on valid btree indexes and, where the installed amcheck has it,
    C(verify_heapam) on tables, materialized views and TOAST tables, in every database that has the
    C(amcheck) extension. Every transaction is READ ONLY.
  - Relations are taken in (database, oid) order starting after O(cursor); the run stops starting new
    ones when O(time_budget_s) or O(max_relations) is spent and returns C(next_cursor), so a large
    estate is covered over several runs (the weekly playbook keeps the cursor on the controller) and
    the cycle then starts again.
  - Corruption is a critical finding (C(amcheck.corruption)) naming the relation and what amcheck
    said; a database without the extension is a warning (C(amcheck.not_installed)) with the statement
    that installs it; C(amcheck.coverage) says how much this run verified.
  - One catalog statement per database lists the relations; then one statement per relation verified
    (the verification itself), each waiting at most O(lock_timeout_ms) for its lock.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  databases:
    description: Databases to verify; empty means every database that accepts connections.
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases not to verify.
    type: list
    elements: str
    default: []
  cursor:
    description:
      - The C(next_cursor) of the previous run (C({database, oid})); unset starts at the beginning.
      - A cursor whose relation is gone is fine, the run starts at the next relation after it.
    type: dict
  time_budget_s:
    description: No relation starts after this many seconds; a verification running is cut at the limit.
    type: int
    default: 600
  max_relations:
    description: Verify at most this many relations in this run; 0 means no limit (only the time budget).
    type: int
    default: 0
  heap:
    description: Also verify tables with C(verify_heapam) (amcheck 1.3, PostgreSQL 14 and later).
    type: bool
    default: true
  heapallindexed:
    description: Also check that every heap tuple has its index entry (C(bt_index_check(..., true))); reads the table too.
    type: bool
    default: false
  lock_timeout_ms:
    description: The longest a verification waits for its lock (it conflicts only with ACCESS EXCLUSIVE); then it is skipped.
    type: int
    default: 1000
attributes:
  check_mode:
    support: full
    description: The verifications run in check mode too (they only read).
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgops.postgresql.index_review
  - module: pgops.postgresql.restore_test
'''

EXAMPLES = r'''
- name: Verify for up to ten minutes, continuing where the last run stopped
  pgops.postgresql.amcheck:
    login_unix_socket: /var/run/postgresql
    time_budget_s: 600
    cursor: "{{ previous.next_cursor | default(omit) }}"
  register: amcheck
'''

RETURN = r'''
findings:
  description: Findings (amcheck.* ids), worst first.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
next_cursor:
  description: Where the next run starts (the last relation this run took); pass it as O(cursor).
  returned: always
  type: dict
  sample: {database: app, oid: 16423}
coverage:
  description: Relations and bytes verified by this run against all, the seconds spent, whether the run reached the end of the cycle.
  returned: always
  type: dict
  sample: {checked: 812, total: 2040, checked_bytes: 7340032, total_bytes: 52428800, seconds: 600.1, cycle_complete: false}
relations:
  description: Every relation taken by this run, with its outcome (ok, corrupt, skipped, failed, gone) and seconds.
  returned: always
  type: list
  elements: dict
queries:
  description: Catalog statements run (the verifications are counted in RV(coverage)).
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of statements, the verifications included.
  returned: always
  type: int
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import integrity
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec


def run(params):
    for name in ('time_budget_s', 'lock_timeout_ms'):
        _validate.at_least(params, name, 1)
    _validate.at_least(params, 'max_relations', 0)
    cursor = integrity.parse_cursor(params['cursor'])
    pipeline = Pipeline(integrity.REGISTRY, params, 'pgops_amcheck', None, params['lock_timeout_ms'])
    sessions = {}
    try:
        main = sessions.setdefault(None, pipeline.connect())
        pipeline.probe(main, 'catalogs amcheck needs', ('is_superuser', 'can_monitor'))
        names = pipeline.databases(main, params['databases'], params['exclude_databases'])
        for name in names:
            sessions[name] = main if name == main.dbname else pipeline.connect(name)
        lists = dict((name, integrity.collect(sessions[name], params['heap'])) for name in names)
        missing = [n for n in names if not lists[n]['amcheck_schema']]
        relations = dict((n, lists[n]['relations']) for n in names if n not in missing)
        order = integrity.rotation(relations, cursor)
        last = max(((db, r['oid']) for db, r in order), default=None)
        started, taken, outcomes, next_cursor = time.time(), 0, [], cursor
        for db, rel in order:
            left = params['time_budget_s'] - (time.time() - started)
            if left <= 0 or (params['max_relations'] and taken >= params['max_relations']):
                break
            t0 = time.time()
            outcome, detail = integrity.verify(sessions[db], lists[db]['amcheck_schema'], rel,
                                               params['heapallindexed'], left * 1000)
            outcomes.append((db, rel, outcome, detail, time.time() - t0))
            taken += 1
            next_cursor = (db, rel['oid'])
    finally:
        for s in set(sessions.values()):
            s.close()
    done = [o for o in outcomes if o[2] == 'ok']
    coverage = dict(checked=len(done), total=len(order), seconds=round(time.time() - started, 1),
                    checked_bytes=sum(o[1]['bytes'] for o in done), total_bytes=sum(r['bytes'] for db, r in order),
                    cycle_complete=last is not None and any((o[0], o[1]['oid']) == last for o in outcomes),
                    next='%s (oid %s)' % next_cursor if next_cursor else None)
    taken_list = [dict(database=db, schema=r['schemaname'], relation=r['relname'], kind=r['kind'], outcome=o,
                       detail=d, seconds=round(s, 3)) for db, r, o, d, s in outcomes]
    result = pipeline.finish(integrity.evaluate(outcomes, missing, coverage), coverage=coverage, relations=taken_list,
                             next_cursor=dict(database=next_cursor[0], oid=next_cursor[1]) if next_cursor else {})
    result['round_trips'] += len(outcomes)  # one round trip per verification, not listed in queries
    return result


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(
        databases=dict(type='list', elements='str', default=[]),
        exclude_databases=dict(type='list', elements='str', default=[]),
        cursor=dict(type='dict'),
        time_budget_s=dict(type='int', default=600),
        max_relations=dict(type='int', default=0),
        heap=dict(type='bool', default=True),
        heapallindexed=dict(type='bool', default=False),
        lock_timeout_ms=dict(type='int', default=1000),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
