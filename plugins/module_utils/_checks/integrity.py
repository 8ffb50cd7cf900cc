# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""amcheck over a rotating subset: ``rotation`` orders the relations after a cursor (pure),
``verify`` checks one relation, ``evaluate`` turns the outcomes into findings (pure).

Relations are ordered by (database, oid). A run starts after the cursor the previous run returned,
checks until its time or relation budget is spent, and returns the cursor of the last relation it
checked; past the end it wraps to the start, so over several runs every relation is checked and the
cycle starts again. Corruption is a critical finding naming the relation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_integrity as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._bloat import size
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import identifier, quoted

try:
    import psycopg2
    import psycopg2.errorcodes
except ImportError:  # pragma: no cover - require_psycopg2 says so first
    psycopg2 = None

RUNBOOK = 'weekly-maintenance.md#amcheck'

REGISTRY = Registry('integrity', [
    Check('amcheck.corruption', 'object', name='corruption', cadence=('weekly',), runbook=RUNBOOK,
          title='No corruption found in the relations checked'),
    Check('amcheck.not_installed', 'database', name='not_installed', cadence=('weekly',), runbook=RUNBOOK,
          title='amcheck is installed in every database checked'),
    Check('amcheck.skipped', 'object', name='skipped', cadence=('weekly',), runbook=RUNBOOK,
          title='No relation was skipped'),
    Check('amcheck.coverage', 'server', name='coverage', cadence=('weekly',), runbook=RUNBOOK,
          title='Coverage of this run'),
])


def parse_cursor(raw, param='cursor'):
    """``{database, oid}`` of the last relation the previous run checked, or None."""
    if not raw:
        return None
    if not isinstance(raw, dict) or set(raw) - set(('database', 'oid')) or not raw.get('database'):
        raise ParameterError(param, '%r is not a cursor' % (raw,),
                             'pass the next_cursor a previous run returned ({database: NAME, oid: NUMBER}), or nothing')
    try:
        oid = int(raw.get('oid'))
    except (TypeError, ValueError):
        raise ParameterError(param + '.oid', '%r is not a number' % (raw.get('oid'),),
                             'pass the next_cursor a previous run returned')
    return (str(raw['database']), oid)


def rotation(relations, cursor):
    """Every relation as (database, relation) ordered by (database, oid), starting after ``cursor``."""
    ordered = sorted(((db, r) for db, rels in relations.items() for r in rels), key=lambda x: (x[0], x[1]['oid']))
    if cursor is None:
        return ordered
    start = next((i for i, (db, r) in enumerate(ordered) if (db, r['oid']) > cursor), len(ordered))
    return ordered[start:] + ordered[:start]


def collect(session, heap):
    """One database: the amcheck schema, whether verify_heapam exists, the relations to verify."""
    row = session.fetch_one(q.RELATIONS, {'heap': bool(heap)})
    if not row['has_heapam']:
        row['relations'] = [r for r in row['relations'] if r['kind'] == 'index']
    return row


def verify(session, schema, relation, heapallindexed, timeout_ms):
    """Check one relation. Returns (outcome, detail): 'ok', 'corrupt' (the error or the heap rows),
    'skipped' (a lock not granted, the time left spent) or 'failed' (any other error)."""
    ext = identifier(schema).as_string(session.conn)
    statement = (q.BT_INDEX_CHECK if relation['kind'] == 'index' else q.VERIFY_HEAPAM).replace('{schema}', ext)
    cur = session.conn.cursor()
    try:
        # one round trip: the time left as this transaction's statement_timeout, then the verification
        cur.execute(q.TIMEOUT + ';' + statement, {'timeout': '%dms' % max(int(timeout_ms), 1),
                                                  'oid': relation['oid'], 'heapallindexed': bool(heapallindexed)})
        rows = cur.fetchall() if relation['kind'] != 'index' else []
        session.conn.rollback()
    except psycopg2.Error as exc:
        session.conn.rollback()
        code = exc.pgcode
        message = (exc.pgerror or str(exc)).strip().replace('ERROR:  ', '', 1).splitlines()[0]
        if code == psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE:
            raise PgopsError('login_user can not run amcheck in %s (%s). Fix: log in as a superuser, or GRANT EXECUTE '
                             'ON FUNCTION %s.bt_index_check(regclass, boolean) (and verify_heapam) TO the login role'
                             % (session.dbname, message, ext))
        if code in (psycopg2.errorcodes.LOCK_NOT_AVAILABLE, psycopg2.errorcodes.QUERY_CANCELED):
            return 'skipped', 'lock not granted' if code == psycopg2.errorcodes.LOCK_NOT_AVAILABLE else 'time budget'
        if code == psycopg2.errorcodes.UNDEFINED_TABLE:
            return 'gone', 'dropped since the list was read'
        if code and (code.startswith('XX') or code == psycopg2.errorcodes.DATA_CORRUPTED):
            return 'corrupt', message
        return 'failed', message
    finally:
        cur.close()
    if relation['kind'] != 'index' and rows:
        return 'corrupt', '; '.join('block %s offset %s: %s' % (r[0], r[1], r[3]) for r in rows)
    return 'ok', None


def _obj(db, r):
    return '%s.%s.%s' % (db, r['schemaname'], r['relname'])


def evaluate(outcomes, missing, coverage):
    """Findings from ``outcomes`` [(db, relation, outcome, detail, seconds)], the databases without
    amcheck and the coverage figures. Pure."""
    out = []
    for db in missing:
        out.append(finding('amcheck.not_installed', 'warning', 'amcheck is not installed in a database', obj=db,
                           observed='no amcheck extension: its indexes and tables are not verified',
                           expected='amcheck installed', remediation='In that database, as a superuser: '
                                                                     'CREATE EXTENSION amcheck;'))
    for db, r, outcome, detail, seconds in outcomes:
        name = quoted(r['schemaname'], r['relname'])
        if outcome == 'corrupt':
            out.append(finding(
                'amcheck.corruption', 'critical', 'Corruption in an %s' % r['kind'], obj=_obj(db, r),
                observed=detail, expected='amcheck finds nothing',
                remediation=('Keep the evidence (do not VACUUM or REINDEX yet), check the storage and the server log, '
                             'compare with a standby; then %s, or restore from a backup verified clean.' % (
                                 'REINDEX INDEX CONCURRENTLY %s' % name if r['kind'] == 'index' else
                                 'copy out the readable rows and rebuild %s' % name))))
        elif outcome in ('skipped', 'failed'):
            out.append(finding(
                'amcheck.skipped', 'warning' if outcome == 'failed' else 'info',
                'A relation could not be verified' if outcome == 'failed' else 'A relation was skipped',
                obj=_obj(db, r), observed=detail, expected='verified',
                remediation='It is checked again in the next run; if it fails every time, read the message.'))
    out.append(finding(
        'amcheck.coverage', 'info', 'amcheck coverage of this run', obj='server',
        observed='%(checked)d of %(total)d relations (%(checked_h)s of %(total_h)s) in %(seconds).1f s; %(cycle)s' % dict(
            coverage, checked_h=size(coverage['checked_bytes']), total_h=size(coverage['total_bytes']),
            cycle='the cycle through every relation completed' if coverage['cycle_complete']
            else 'the next run continues after %s' % coverage['next'] if coverage['next'] else 'nothing to check'),
        expected='every relation verified over the cycle', remediation=''))
    return out
