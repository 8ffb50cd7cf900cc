#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: health_check
short_description: Daily health check of a PostgreSQL server, read-only
version_added: 0.1.0
description:
  - Collects the server's health with a bounded number of catalog queries (two for the
    server, one per database whatever the number of objects) and turns it into findings.
  - "Checks: server up and uptime, connections against C(max_connections) less the superuser
    reserve, idle-in-transaction sessions, long-running queries, prepared transactions,
    transaction-ID and multixact wraparound age per database, replication lag per standby
    (bytes and seconds) and on a standby itself, inactive or WAL-retaining replication slots,
    archiver failures and the C(archive_status) backlog, cache hit ratio, rollback ratio,
    deadlocks, data checksum failures, settings waiting for a restart, tables never or not
    recently analyzed or vacuumed and their dead-row ratio, sequences near exhaustion
    (bounded by the type of the column that owns them), invalid indexes, database size, and
    free disk space of the data directory and of C(pg_wal)."
  - Every transaction runs READ ONLY; the module never writes to the server.
  - The login role must be a superuser or a member of C(pg_monitor).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  databases:
    description:
      - Databases whose objects (tables, sequences, indexes) are checked.
      - Empty means every database that accepts connections, templates excepted.
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases left out of the per-database checks.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Names of the checks to run; empty runs them all.
      - "Known names: server_up, uptime, connections, idle_in_transaction, long_running_queries,
        prepared_transactions, xid_wraparound, mxid_wraparound, replication_lag, replication_slots, archiver,
        cache_hit_ratio, rollback_ratio, deadlocks, checksum_failures, pending_restart, table_analyze,
        table_vacuum, sequences, invalid_indexes, database_size, minor_version, disk_space."
    type: list
    elements: str
    default: []
  cadence:
    description:
      - Run the checks registered for this cadence when O(checks) is empty (the cadence playbooks
        pass theirs). Unset runs every check.
    type: str
    choices: [daily, weekly, monthly, quarterly]
  skip_checks:
    description: Names of checks not to run.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - Overrides of the default thresholds, by name. An unknown name or a value of the wrong
        type fails the module before it connects.
      - "Names and defaults: max_objects_per_check 50 (objects listed per check and database);
        uptime_info_seconds 3600 (info when the server is up for less); connections_warning_pct 80 (warning at
        this share of the usable connections); connections_critical_pct 95 (critical at this share of the
        usable connections); idle_in_transaction_warning_seconds 300 (warning at this age of an idle open
        transaction); idle_in_transaction_critical_seconds 1800 (critical at this age of an idle open
        transaction); long_query_warning_seconds 300 (warning at this query age); long_query_critical_seconds
        3600 (critical at this query age); prepared_xact_warning_seconds 300 (warning at this age of a
        prepared transaction); prepared_xact_critical_seconds 3600 (critical at this age of a prepared
        transaction); xid_age_warning_pct 50 (warning at this share of 2^31); xid_age_critical_pct 75
        (critical at this share of 2^31); mxid_age_warning_pct 50 (warning at this share of 2^31);
        mxid_age_critical_pct 75 (critical at this share of 2^31); replication_lag_warning_bytes 67108864
        (warning at this replay lag); replication_lag_critical_bytes 1073741824 (critical at this replay lag);
        replication_lag_warning_seconds 60 (warning at this replay lag); replication_lag_critical_seconds 600
        (critical at this replay lag); slot_retained_warning_bytes 1073741824 (warning at this retained WAL);
        slot_retained_critical_bytes 10737418240 (critical at this retained WAL); archive_ready_warning 10
        (warning at this number of .ready segments); archive_ready_critical 100 (critical at this number of
        .ready segments); cache_hit_warning_pct 90 (warning below this hit ratio); cache_min_blocks 100000
        (block reads before the ratio counts); rollback_warning_pct 10 (warning at this rollback share);
        rollback_min_transactions 1000 (transactions before the ratio counts); deadlocks_warning_per_day 10
        (warning at this daily rate); table_min_rows 1000 (tables with fewer rows are not checked);
        analyze_stale_days 7 (statistics older than this are stale ...); analyze_stale_modified_pct 10 (...
        when this share of rows changed since); dead_tuples_critical_pct 50 (critical at this share of dead
        rows); dead_tuples_warning_pct 20 (warning at this share of dead rows); sequence_warning_pct 75
        (warning at this share of the range used); sequence_critical_pct 90 (critical at this share of the
        range used); database_size_warning_bytes 0 (warning at this size (0: off));
        minor_releases_behind_warning 1 (warning when the packaged minor release is this many releases ahead
        of the running one (0: off)); disk_free_warning_pct 20 (warning below this free space);
        disk_free_critical_pct 10 (critical below this free space)."
    type: dict
    default: {}
  fail_on_connection_error:
    description:
      - When V(true), a server that cannot be reached fails the module.
      - When V(false), it is returned as a critical C(health.server_up) finding so that a
        fleet report still lists the host.
    type: bool
    default: true
  statement_timeout:
    description: Milliseconds after which one catalog query is cancelled (0 disables).
    type: int
    default: 30000
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs the same queries.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
notes:
  - Free disk space is measured where the module runs; run it on the database host, not delegated.
seealso:
  - module: pgops.postgresql.report
'''

EXAMPLES = r'''
- name: Check the local cluster through its unix socket
  pgops.postgresql.health_check:
    login_unix_socket: /var/run/postgresql
    login_port: 5432
    login_user: pgops_admin
  register: health

- name: Tighter thresholds, one waiver, and a report of an unreachable server instead of a failure
  pgops.postgresql.health_check:
    login_host: db1.example.com
    login_user: monitor
    login_password: "{{ vault_monitor_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/db-ca.pem
    fail_on_connection_error: false
    skip_checks: [cache_hit_ratio]
    thresholds:
      idle_in_transaction_warning_seconds: 60
      disk_free_warning_pct: 25
    waivers:
      - id: health.table_analyze
        object: "reporting.archive.*"
        reason: Archive tables are loaded once a year; CHG-1234
        expires: "2027-03-31"
'''

RETURN = r'''
findings:
  description: Findings, worst first; one V(ok) finding for each check that found nothing.
  returned: always
  type: list
  elements: dict
  sample:
    - id: health.idle_in_transaction
      severity: warning
      title: A session is idle in an open transaction
      object: pid 4242 (app@shop)
      observed: "412 s, state idle in transaction, query: UPDATE orders SET ..."
      expected: under 300 s
      remediation: It holds locks and blocks vacuum...
      waived: false
summary:
  description: Number of unwaived findings per severity, the waived count and the worst severity.
  returned: always
  type: dict
  sample: {ok: 20, info: 1, warning: 1, critical: 0, waived: 0, worst: warning}
metrics:
  description: The raw figures behind the findings (server, per database, replication, slots, disk).
  returned: always
  type: dict
queries:
  description: Every SQL statement the module ran, in order.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of SQL statements sent to the server(s).
  returned: always
  type: int
  sample: 4
databases:
  description: Databases whose objects were checked.
  returned: always
  type: list
  elements: str
duration_ms:
  description: Time the module spent collecting and evaluating, in milliseconds.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import health
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ConnectionFailed
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        databases=dict(type='list', elements='str', default=[]),
        exclude_databases=dict(type='list', elements='str', default=[]),
        fail_on_connection_error=dict(type='bool', default=True),
        statement_timeout=dict(type='int', default=30000),
    )
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec())
    return spec


def run(params):
    pipeline = Pipeline(health.REGISTRY, params, 'pgops_health_check', params['statement_timeout'])
    try:
        session = pipeline.connect()
        try:
            pipeline.probe(session, 'monitoring views')
            facts = health.collect(pipeline, session, params)
        finally:
            session.close()
        findings = health.evaluate(facts, pipeline.thresholds, pipeline.selected)
    except ConnectionFailed as exc:
        if params['fail_on_connection_error'] or 'server_up' not in pipeline.selected:
            raise
        facts = None
        findings = [health.unreachable_finding(exc.msg)]
    return pipeline.finish(findings, checked=pipeline.selected if facts else [], metrics=health.metrics(facts),
                           databases=sorted(facts['databases']) if facts else [])


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
