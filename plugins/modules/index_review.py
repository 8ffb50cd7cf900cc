#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: index_review
short_description: Monthly index review - unused, duplicate, invalid and bloated indexes, unindexed foreign keys
version_added: 0.2.0
description:
  - Read-only. Every transaction is READ ONLY; two statements per database (one with the bloat check
    off), whatever the number of tables and indexes. Sessions wait at most 2 s for a lock (an index
    locked by someone else is then estimated, not measured) and 5 minutes for a statement.
  - "Finds: indexes not scanned since the statistics reset (never one that backs a constraint, is
    unique, or was scanned on a standby named in O(used_elsewhere)), with the age of the statistics;
    duplicate indexes and indexes whose keys are a leading prefix of another's (same table, access
    method, operator classes, predicate); invalid indexes; bloated btree indexes (pgstatindex when
    pgstattuple is installed, up to a size cap, the statistical estimate otherwise; the finding says
    which); foreign keys without an index leading with their columns; large tables read mostly by
    sequential scans."
  - Each finding names the index or table with its size and the statement that would fix it, with the
    identifiers quoted. Nothing is dropped or built by this module.
  - With O(scanned_only), on a standby, returns only the indexes scanned there that the primary's
    review could call unused; the cadence playbook hands them to the primary's run.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  databases:
    description: Databases to review; empty means every database that accepts connections.
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases not to review.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Names of the checks to run; empty runs those of O(cadence), or all of them.
      - "Known names: unused, redundant, invalid, bloated, fk_unindexed, seq_scan_heavy."
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
      - Overrides of the default thresholds, by name. An unknown name or a value of the wrong type
        fails the module before it connects.
      - "Names and defaults: max_objects_per_check 50 (objects listed per check and database);
        unused_min_bytes 1048576 (unused indexes smaller than this are not reported); unused_min_stats_days 7
        (statistics younger than this make an unused index info only); bloat_warning_pct 40 (warning at this
        share of free space in an index); bloat_min_bytes 10485760 (indexes smaller than this are not
        reported); bloat_exact_max_bytes 1073741824 (indexes up to this size are measured with pgstatindex
        when pgstattuple is installed); fk_min_bytes 0 (referencing tables smaller than this are not
        reported); seq_min_scans 100 (tables scanned sequentially fewer times are not reported); seq_min_rows
        10000 (tables with fewer rows are not reported)."
    type: dict
    default: {}
  measure_bloat:
    description:
      - Measure index bloat with pgstattuple's C(pgstatindex) where the extension is installed (it reads
        every page of each index up to C(bloat_exact_max_bytes)); false uses the estimate everywhere.
    type: bool
    default: true
  used_elsewhere:
    description:
      - Indexes scanned on standbys (the C(scanned) return value of a O(scanned_only) run there), never
        reported as unused.
      - Each entry is a dictionary with C(database), C(schema) and C(index) (and optionally C(scans)).
    type: list
    elements: raw
    default: []
  scanned_only:
    description:
      - Only read which indexes were scanned on this server (for a standby); no findings.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The same read-only statements run in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
notes:
  - "Index usage counters start again at a statistics reset (C(pg_stat_reset())) and, before
    PostgreSQL 15, after a crash; an index used once a quarter looks unused in a monthly review. The
    finding says how old the statistics are, and is info only while they are younger than
    C(unused_min_stats_days)."
seealso:
  - module: pgops.postgresql.maintenance
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Review the indexes of every database
  pgops.postgresql.index_review:
    login_unix_socket: /var/run/postgresql
    cadence: monthly
    thresholds:
      unused_min_bytes: 8388608
  register: review

- name: Read the index usage of a standby
  pgops.postgresql.index_review:
    login_unix_socket: /var/run/postgresql
    scanned_only: true
  register: standby_usage

- name: Review on the primary, keeping what the standby uses
  pgops.postgresql.index_review:
    login_unix_socket: /var/run/postgresql
    used_elsewhere: "{{ standby_usage.scanned }}"
'''

RETURN = r'''
findings:
  description: Findings (index.* ids), worst first; each remediation holds the statement that fixes it.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
statistics_age_days:
  description: Age of the usage statistics in each database (since the reset, or the server start).
  returned: unless scanned_only
  type: dict
  sample: {app: 41.2}
scanned:
  description: Indexes scanned on this server that could otherwise be called unused.
  returned: when scanned_only
  type: list
  elements: dict
  sample: [{database: app, schema: public, index: orders_created_idx, scans: 1200}]
plots:
  description: The report's picture (the indexes with the most free space, in bytes), for the report module.
  returned: unless scanned_only
  type: list
  elements: dict
in_recovery:
  description: Whether the server is a standby.
  returned: always
  type: bool
queries:
  description: SQL statements run.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of statements.
  returned: always
  type: int
duration_ms:
  description: Wall time of the review.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import indexes as review
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._sql_maintenance import IN_RECOVERY


def used_by_database(used, param='used_elsewhere'):
    """``used_elsewhere`` by database; each entry a {database, schema, index[, scans]} dictionary."""
    out = {}
    for n, entry in enumerate(used or []):
        where = '%s[%d]' % (param, n)
        if not isinstance(entry, dict) or set(entry) - set(('database', 'schema', 'index', 'scans')) or \
                not all(isinstance(entry.get(k), str) and entry.get(k) for k in ('database', 'schema', 'index')):
            raise ParameterError(where, '%r is not an index entry' % (entry,),
                                 'give {database, schema, index} dictionaries, as the scanned return value of a '
                                 'scanned_only run lists them')
        out.setdefault(entry['database'], []).append({'schema': entry['schema'], 'index': entry['index']})
    return out


def run(params):
    pipeline = Pipeline(review.REGISTRY, params, 'pgops_index_review', 300000, 2000)
    th = pipeline.thresholds
    used = used_by_database(params['used_elsewhere'])
    session = pipeline.connect()
    try:
        pipeline.probe(session, 'statistics the review needs')
        in_recovery = session.fetch_one(IN_RECOVERY)['standby']
        names = pipeline.databases(session, params['databases'], params['exclude_databases'])
        if params['scanned_only']:
            found = pipeline.per_database(session, names, lambda s: review.collect_scanned(s, th))
            scanned = [dict(entry, database=db) for db in names for entry in found[db]]
            return dict(pipeline.finish([], checked=[]), findings=[], scanned=scanned, in_recovery=in_recovery)
        bloat = pipeline.needs('bloat')
        facts = {'databases': pipeline.per_database(session, names, lambda s: review.collect_database(
            s, th, th['max_objects_per_check'], used.get(s.dbname, ()), bloat, params['measure_bloat']))}
    finally:
        session.close()
    findings = pipeline.registry.evaluate(facts, th, pipeline.selected)
    return pipeline.finish(findings, in_recovery=in_recovery, plots=review.plots(facts), statistics_age_days=dict(
        (db, round(f['stats_age_s'] / 86400.0, 1)) for db, f in facts['databases'].items()))


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec())
    spec.update(
        databases=dict(type='list', elements='str', default=[]),
        exclude_databases=dict(type='list', elements='str', default=[]),
        measure_bloat=dict(type='bool', default=True),
        used_elsewhere=dict(type='list', elements='raw', default=[]),
        scanned_only=dict(type='bool', default=False),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
