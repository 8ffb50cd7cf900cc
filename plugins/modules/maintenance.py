#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: maintenance
short_description: Weekly routine maintenance of a PostgreSQL server, with a plan and budgets
version_added: 0.2.0
description:
  - Finds, with one catalog statement for tables and one for indexes per database (whatever the number of
    objects), what needs work, orders it by benefit and runs it one statement at a time.
  - C(ANALYZE) for tables whose statistics are missing or stale, judged by the rows changed since the last analyze
    against the table's size (C(analyze_min_changes), C(analyze_mod_ratio)), not by age.
  - C(VACUUM) (never C(FULL)) where dead rows pass C(vacuum_min_dead) and
    C(vacuum_dead_ratio), C(VACUUM (FREEZE)) where the table's transaction-ID age passes
    C(vacuum_xid_age); with C(ANALYZE) in the same pass when the statistics are stale too.
  - C(REINDEX INDEX CONCURRENTLY) for invalid indexes and for btree indexes whose bloat passes
    C(reindex_bloat_pct) (and C(reindex_min_bytes)); C(DROP INDEX CONCURRENTLY) for the
    invalid C(_ccnew)/C(_ccold) leftovers of an interrupted concurrent reindex.
  - Index bloat comes from pgstattuple's C(pgstatindex) when the extension is installed in the database (indexes up
    to C(exact_max_bytes)), else from an estimate (expected leaf pages from the key columns' average
    width in C(pg_stats) at the index's fillfactor against its actual pages); each item says which.
    Table bloat likewise from C(pgstattuple_approx) (free and dead space) or the estimate (the pages the
    rows need from C(pg_stats) widths at the table's fillfactor); it is reported in RV(bloat) and acted
    on only with the C(repack) action.
  - Order of benefit, first to last - wraparound (transaction-ID age), leftovers and invalid indexes, tables never analyzed, dead
    rows, stale statistics, bloated indexes by bytes to gain, then (with C(repack)) bloated tables. The first O(max_objects) items are the plan; the
    others are reported as skipped (object budget).
  - Every statement runs with O(lock_timeout_ms) and a C(statement_timeout) of O(statement_timeout_s), cut to what
    is left of O(time_budget_s); a lock not granted or a statement stopped skips that item and says why, and no new
    item starts once the time budget is spent. A writer therefore never waits on this module longer than
    O(lock_timeout_ms). A concurrent reindex stopped half way leaves an invalid copy, which is dropped again.
  - Check mode returns the plan a real run follows, item for item.
  - On a standby (in recovery) it does nothing and says so; the primary's maintenance replicates.
  - The login role must own the objects or be a superuser.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  databases:
    description: Databases to maintain; empty means every database that accepts connections, templates excepted.
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases left alone.
    type: list
    elements: str
    default: []
  actions:
    description:
      - What the module may do. C(repack) (never by default) rebuilds tables past C(repack_bloat_pct) with
        pg_repack, online, in the databases where the C(pg_repack) extension is installed; it needs a
        superuser login and the C(pg_repack) program (O(repack_bin)).
    type: list
    elements: str
    choices: [analyze, vacuum, reindex, repack]
    default: [analyze, vacuum, reindex]
  repack_bin:
    description:
      - The C(pg_repack) program, when C(repack) is in O(actions). Default, C(pg_repack) on the PATH, else
        the one of the server's major version under C(/usr/lib/postgresql/<major>/bin) (Debian's
        C(postgresql-<major>-repack)).
    type: path
  thresholds:
    description:
      - "When an object needs work: analyze_min_changes (500 rows), analyze_mod_ratio (0.1 of the live rows),
        vacuum_min_dead (1000 rows), vacuum_dead_ratio (0.2 of all rows), vacuum_xid_age (150000000),
        reindex_bloat_pct (40), reindex_min_bytes (10485760), exact_max_bytes (1073741824: the largest index
        pgstatindex or table pgstattuple_approx reads), repack_bloat_pct (50) and repack_min_bytes (104857600:
        with the repack action)."
    type: dict
    default: {}
  max_objects:
    description: The object budget, the most items one run does (per run, not per database).
    type: int
    default: 50
  time_budget_s:
    description: No item starts after this many seconds; each statement's timeout is cut to what is left.
    type: int
    default: 3600
  lock_timeout_ms:
    description: How long a statement waits for a lock before the item is skipped (C(lock_timeout)).
    type: int
    default: 1000
  statement_timeout_s:
    description: The longest one statement may run (C(statement_timeout)).
    type: int
    default: 1800
  measure_bloat:
    description: Measure index bloat with C(pgstatindex) where pgstattuple is installed (it reads each index).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Check mode collects the candidates read-only and returns the plan a real run follows, item for item.
  diff_mode:
    support: none
    description: Statistics, dead rows and index pages have no file to diff; the plan and each item's statement say what
      changes.
seealso:
  - module: pgops.postgresql.health_check
  - module: pgops.postgresql.backup_verify
'''

EXAMPLES = r'''
- name: Weekly maintenance, at most 30 minutes, never holding a writer more than a second
  pgops.postgresql.maintenance:
    time_budget_s: 1800
    lock_timeout_ms: 1000
  register: maintenance

- name: What would run (the same plan a real run follows)
  pgops.postgresql.maintenance:
    databases: [app]
    actions: [analyze]
  check_mode: true

- name: Reindex only, on indexes with more than half their pages wasted
  pgops.postgresql.maintenance:
    actions: [reindex]
    thresholds:
      reindex_bloat_pct: 50
'''

RETURN = r'''
plan:
  description:
    - The items in the order they run (or ran), each with database, kind (table or index), schema, name, object
      (quoted), action, statement, reasons, order, and the figures (bytes, dead rows, bloat_pct and bloat_method).
    - After a real run, status (done, skipped, failed), seconds, and why when not done; put_back when an interrupted
      reindex left an invalid copy that was dropped, left_behind and remediation when it could not be.
  returned: always
  type: list
  elements: dict
skipped:
  description: Items past the object budget (status skipped, why object budget), up to O(max_objects) more per
    database.
  returned: always
  type: list
  elements: dict
bloat:
  description: The indexes and tables whose bloat was measured or estimated (kind, database, schema, name, table,
    bytes, bloat_pct, method).
  returned: always
  type: list
  elements: dict
plots:
  description: The report's picture (free space by table and index), for the report module.
  returned: always
  type: list
  elements: dict
findings:
  description: One finding per item skipped (info) or failed (warning), maintenance.standby (info) on a standby, and
    maintenance.done (ok) with the counts.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of findings by severity, and done, skipped and failed items.
  returned: always
  type: dict
steps:
  description: Each item as a timed step (step, seconds, ok).
  returned: when not in check mode
  type: list
  elements: dict
queries:
  description: Every statement run, in order.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of statements run.
  returned: always
  type: int
'''

import os
import shutil
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _maintenance as mnt
from ansible_collections.pgops.postgresql.plugins.module_utils import _sql_maintenance as q
from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    ACCEPTING_DATABASES, conn_kwargs, connect, connection_argument_spec, per_database, select_databases)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import InjectedFault, ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding, summarize
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps


def findings_of(items, counts):
    """One finding per item skipped (info) or failed (warning), and maintenance.done with the counts."""
    out = []
    for item in items:
        if item.get('status') == 'failed':
            out.append(finding('maintenance.failed', 'warning', '%s failed' % item['action'].capitalize(),
                               item['object'], observed=item.get('why'), expected='%s done' % item['action'],
                               remediation=item.get('remediation') or 'Read the error, fix its cause, run again: %s'
                               % item['statement']))
        elif item.get('status') == 'skipped':
            out.append(finding('maintenance.skipped', 'info', '%s skipped' % item['action'].capitalize(),
                               item['object'], observed=item.get('why'), expected='%s done' % item['action'],
                               remediation='Runs again next time; to run it now: %s' % item['statement']))
    out.append(finding('maintenance.done', 'ok', 'Maintenance done', 'server',
                       observed='%(done)d item(s) done, %(skipped)d skipped, %(failed)d failed' % counts,
                       expected='every planned item done'))
    return out


def find_repack(p, session):
    """The pg_repack program: repack_bin, else on the PATH, else the server's major version's."""
    if p['repack_bin']:
        path = p['repack_bin']
    else:
        major = session.fetch_one("SELECT current_setting('server_version_num')::int / 10000 AS major")['major']
        path = shutil.which('pg_repack') or '/usr/lib/postgresql/%d/bin/pg_repack' % major
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ParameterError('repack_bin', 'no pg_repack program at %s' % path,
                             "install the server's pg_repack package (Debian: postgresql-<major>-repack) or point "
                             "repack_bin at the program, or leave repack out of actions")
    return path


def run_repack(module, p, binary, item, timeout_s):
    """pg_repack for one item, with the module's login (libpq environment, the password never on the
    command line); a lock it could not get in time is a skip, any other error a failure."""
    kw = conn_kwargs(p, item['database'], 'pgops_maintenance')
    env = dict(os.environ, PGHOST=str(kw.get('host', '')), PGPORT=str(kw['port']), PGUSER=kw['user'],
               PGSSLMODE=kw['sslmode'], PGCONNECT_TIMEOUT=str(kw['connect_timeout']), PGAPPNAME='pgops_maintenance')
    for key, var in (('password', 'PGPASSWORD'), ('sslrootcert', 'PGSSLROOTCERT'), ('sslcert', 'PGSSLCERT'),
                     ('sslkey', 'PGSSLKEY')):
        if kw.get(key):
            env[var] = kw[key]
    if not kw.get('host'):
        env.pop('PGHOST')
    t0 = time.time()
    try:
        proc = subprocess.run(mnt.repack_argv(binary, item, p['lock_timeout_ms']), env=env, capture_output=True,
                              text=True, timeout=max(timeout_s, 1), check=False)
    except subprocess.TimeoutExpired:
        return {'status': 'skipped', 'why': 'stopped after %d s (statement_timeout or the time budget)' % timeout_s,
                'seconds': round(time.time() - t0, 3)}
    out = (proc.stdout + proc.stderr).strip()
    seconds = round(time.time() - t0, 3)
    if 'timed out' in out.lower() or 'due to timeout' in out.lower():
        return {'status': 'skipped', 'why': 'lock not granted within %d ms (pg_repack --wait-timeout): %s'
                % (p['lock_timeout_ms'], out.splitlines()[-1] if out else ''), 'seconds': seconds}
    if proc.returncode != 0:
        return {'status': 'failed', 'why': 'pg_repack exited %d: %s' % (proc.returncode, out[-500:]), 'seconds': seconds}
    return {'status': 'done', 'seconds': seconds}


def bloat_plots(bloat, n=15):
    """Bars of the tables and indexes with the most free space, for the HTML report."""
    rows = sorted(((('%s %s.%s.%s' % (b['kind'], b['database'], b['schema'], b['name'])),
                    int(b['bytes'] * (b['bloat_pct'] or 0) / 100.0)) for b in bloat), key=lambda r: -r[1])
    rows = [list(r) for r in rows if r[1] > 0][:n]
    return [{'kind': 'bars', 'title': 'Bloat: free space by table and index', 'unit': 'bytes', 'bars': rows}] \
        if rows else []


def main():
    spec = connection_argument_spec()
    spec.update(
        databases=dict(type='list', elements='str', default=[]),
        exclude_databases=dict(type='list', elements='str', default=[]),
        actions=dict(type='list', elements='str', choices=list(mnt.ACTIONS), default=list(mnt.DEFAULT_ACTIONS)),
        repack_bin=dict(type='path'),
        thresholds=dict(type='dict', default={}),
        max_objects=dict(type='int', default=50),
        time_budget_s=dict(type='int', default=3600),
        lock_timeout_ms=dict(type='int', default=1000),
        statement_timeout_s=dict(type='int', default=1800),
        measure_bloat=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    t0 = time.time()
    queries = []
    steps = Steps()
    try:
        for name in ('max_objects', 'time_budget_s', 'lock_timeout_ms', 'statement_timeout_s'):
            _validate.at_least(p, name, 1)
        th, problem = mnt.thresholds_with_defaults(p['thresholds'])
        if problem:
            raise ParameterError('thresholds', problem, 'correct the value or leave it out for its default')
        if not p['actions']:
            raise ParameterError('actions', 'is empty', 'name at least one of analyze, vacuum, reindex, repack')
        session = connect(p, readonly=True, application_name='pgops_maintenance', queries=queries,
                          lock_timeout_ms=p['lock_timeout_ms'])
        try:
            available = [r['datname'] for r in session.fetch_all(ACCEPTING_DATABASES)]
            names = select_databases(available, p['databases'], p['exclude_databases'])
            standby = session.fetch_one(q.IN_RECOVERY)['standby']
            if standby:  # read-only: the primary's maintenance replicates here
                names = []
            repack_bin = find_repack(p, session) if 'repack' in p['actions'] and names else None
            candidates = per_database(p, session, names,
                                      lambda s: mnt.collect(s, th, p['max_objects'], p['measure_bloat'],
                                                            repack='repack' in p['actions']),
                                      readonly=True, application_name='pgops_maintenance', queries=queries,
                                      lock_timeout_ms=p['lock_timeout_ms'])
            planned, over = mnt.plan(candidates, th, p['actions'], p['max_objects'])
            mnt.render(planned + over, session.conn, repack_bin, p['lock_timeout_ms'])
        finally:
            session.close()
        for item in over:
            item.update(status='skipped', why='object budget of %d item(s) spent' % p['max_objects'])
        for item in planned:
            if item.get('_unavailable'):
                item.update(status='skipped', why=item['_unavailable'])
        if not module.check_mode:
            runner = mnt.Runner(lambda db: connect(p, dbname=db, application_name='pgops_maintenance', queries=queries),
                                p['lock_timeout_ms'], p['statement_timeout_s'], p['time_budget_s'],
                                repack=lambda item, timeout_s: run_repack(module, p, repack_bin, item, timeout_s))
            try:
                for item in planned:
                    if item.get('status') == 'skipped':
                        continue
                    try:
                        item.update(steps.run('%s %s' % (item['action'], item['object']), runner.run, item))
                    except InjectedFault:
                        raise
                    except PgopsError as exc:
                        item.update(status='failed', why=exc.msg)
            finally:
                runner.close()
    except PgopsError as exc:
        done = [s['step'] for s in steps.done if s['ok']]
        module.fail_json(msg='%s%s' % (exc.msg, '. Done before it (each item stands alone; nothing is half done): %s'
                                       % ', '.join(done) if done else ''),
                         changed=bool(done), queries=queries, steps=steps.done)
    bloat = [dict(database=db, kind='index', schema=i['schemaname'], name=i['indexname'], table=i['tablename'],
                  bytes=i['bytes'], bloat_pct=i['bloat_pct'], method=i['bloat_method'])
             for db in sorted(candidates) for i in candidates[db]['indexes'] if i['bloat_method']]
    bloat += [dict(database=db, kind='table', schema=t['schemaname'], name=t['relname'], table=t['relname'],
                   bytes=t['bytes'], bloat_pct=t['bloat_pct'], method=t['bloat_method'])
              for db in sorted(candidates) for t in candidates[db]['table_bloat'] if t['bloat_method']]
    plan_out = [mnt.public(i) for i in planned]
    over_out = [mnt.public(i) for i in over]
    counts = dict((status, len([i for i in plan_out + over_out if i.get('status') == status]))
                  for status in ('done', 'skipped', 'failed'))
    found = findings_of(plan_out + over_out, counts)
    if standby:
        found.insert(0, finding('maintenance.standby', 'info', 'A standby: nothing to do here', 'server',
                                observed='in recovery (read-only)', expected='a primary',
                                remediation='Maintenance runs on the primary; ANALYZE, VACUUM and REINDEX '
                                            'replicate to the standbys.'))
    summary = summarize(found)
    summary.update(counts)
    changed = bool(planned) if module.check_mode else summary['done'] > 0
    result = dict(changed=changed, plan=plan_out, skipped=over_out, bloat=bloat, findings=found, summary=summary,
                  plots=bloat_plots(bloat),
                  queries=queries, round_trips=len(queries), duration_ms=int((time.time() - t0) * 1000))
    if not module.check_mode:
        result['steps'] = steps.done
    module.exit_json(**result)


if __name__ == '__main__':
    main()
