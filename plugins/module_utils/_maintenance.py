# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Routine maintenance: a plan from the catalog, then each item run under lock and statement timeouts.

``collect(session, ...)`` reads one database's candidates (three statements, whatever the number of
objects).
``plan(candidates, thresholds, actions, max_objects)`` is pure: the same candidates give the same
ordered plan, in check mode and in a real run. ``Runner.run(item)`` executes one item in an
autocommit session of its database: a lock not granted within ``lock_timeout`` or a statement cut by
``statement_timeout`` skips the item and says why; a REINDEX INDEX CONCURRENTLY that stops half way
leaves an invalid ``<index>_ccnew`` behind, which is dropped again (the one put-back of this module:
ANALYZE and VACUUM leave nothing half done).

Order of benefit (``rank``): wraparound first (VACUUM FREEZE by transaction-ID age), then the leftovers
of failed concurrent builds (DROP) and invalid indexes (REINDEX: they slow every write and serve no
read), tables never analyzed (the planner guesses), dead rows (by count), statistics gone stale (by
modifications), and last bloated indexes (by wasted bytes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.pgops.postgresql.plugins.module_utils import _sql_maintenance as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._bloat import (
    index_bloat, pgstattuple_schema, table_bloat)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import compose, identifier, keywords, quoted

try:
    import psycopg2
    import psycopg2.errorcodes
except ImportError:  # pragma: no cover - reported by _connection
    psycopg2 = None

ACTIONS = ('analyze', 'vacuum', 'reindex', 'repack')
# pg_repack rewrites whole tables: only when asked for
DEFAULT_ACTIONS = ('analyze', 'vacuum', 'reindex')

# name: (default, minimum, maximum)
THRESHOLDS = {
    'analyze_min_changes': (500, 0, None),
    'analyze_mod_ratio': (0.1, 0.0, 100.0),
    'vacuum_min_dead': (1000, 0, None),
    'vacuum_dead_ratio': (0.2, 0.0, 1.0),
    'vacuum_xid_age': (150000000, 100000, 2000000000),
    'reindex_bloat_pct': (40.0, 1.0, 99.0),
    'reindex_min_bytes': (10 * 1024 * 1024, 8192, None),
    'exact_max_bytes': (1024 ** 3, 0, None),
    'repack_bloat_pct': (50.0, 1.0, 99.0),
    'repack_min_bytes': (100 * 1024 * 1024, 8192, None),
}

_LEFTOVER_NAME = re.compile(r'_cc(new|old)[0-9]*$')


def thresholds_with_defaults(given):
    """The thresholds with defaults filled in; a bad name or value is a ParameterError-worthy text."""
    out = {}
    for name in sorted(given or {}):
        if name not in THRESHOLDS:
            return None, "unknown threshold '%s' (known: %s)" % (name, ', '.join(sorted(THRESHOLDS)))
    for name, (default, low, high) in THRESHOLDS.items():
        value = (given or {}).get(name, default)
        try:
            value = type(default)(value)
        except (TypeError, ValueError):
            return None, "threshold '%s' must be a number, not %r" % (name, value)
        if value < low or (high is not None and value > high):
            return None, "threshold '%s' is %s; it must be between %s and %s" % (name, value, low, high or 'any')
        out[name] = value
    return out, None


def _item(database, kind, schema, name, action, statement_sql, rank, weight, reasons, **extra):
    item = {'database': database, 'kind': kind, 'schema': schema, 'name': name,
            'object': '%s.%s' % (quoted(database), quoted(schema, name)),
            'action': action, 'reasons': reasons, 'rank': rank, 'weight': weight}
    item.update(extra)
    item['_statement'] = statement_sql
    return item


def _table_items(database, table, th, actions):
    rel = identifier(table['schemaname'], table['relname'])
    live, dead, mods = table['n_live_tup'], table['n_dead_tup'], table['n_mod_since_analyze']
    stale = mods >= th['analyze_min_changes'] and (
        table['never_analyzed'] or mods >= th['analyze_mod_ratio'] * max(live, 1))
    dead_rows = dead >= th['vacuum_min_dead'] and dead >= th['vacuum_dead_ratio'] * (live + dead)
    old_xid = table['xid_age'] >= th['vacuum_xid_age']
    reasons = []
    if old_xid:
        reasons.append('transaction-ID age %d >= %d' % (table['xid_age'], th['vacuum_xid_age']))
    if dead_rows:
        reasons.append('%d dead rows (%.0f%% of %d)' % (dead, 100.0 * dead / max(live + dead, 1), live + dead))
    if stale:
        reasons.append('never analyzed, %d rows changed' % mods if table['never_analyzed'] else
                       '%d rows changed since the last analyze (%.0f%% of %d)' % (mods, 100.0 * mods / max(live, 1), live))
    extra = dict(bytes=table['bytes'], n_live_tup=live, n_dead_tup=dead, n_mod_since_analyze=mods,
                 xid_age=table['xid_age'])
    if 'vacuum' in actions and (old_xid or dead_rows):
        options = (['FREEZE'] if old_xid else []) + (['ANALYZE'] if stale and 'analyze' in actions else [])
        stmt = compose('VACUUM ({options}) {rel}' if options else 'VACUUM {rel}',
                       options=keywords(options), rel=rel)
        rank, weight = (0, table['xid_age']) if old_xid else (4, dead)
        return [_item(database, 'table', table['schemaname'], table['relname'],
                      'vacuum' + (' freeze' if old_xid else '') + (' analyze' if 'ANALYZE' in options else ''),
                      stmt, rank, weight, reasons, **extra)]
    if 'analyze' in actions and stale:
        rank, weight = (3, live + mods) if table['never_analyzed'] else (5, mods)
        return [_item(database, 'table', table['schemaname'], table['relname'], 'analyze',
                      compose('ANALYZE {rel}', rel=rel), rank, weight, reasons, **extra)]
    return []


def _index_items(database, index, th, actions):
    if 'reindex' not in actions:
        return []
    idx = identifier(index['schemaname'], index['indexname'])
    extra = dict(bytes=index['bytes'], table=index['tablename'], bloat_pct=index['bloat_pct'],
                 bloat_method=index['bloat_method'], oid=index['oid'])
    if not index['valid'] and _LEFTOVER_NAME.search(index['indexname']):
        return [_item(database, 'index', index['schemaname'], index['indexname'], 'drop leftover',
                      compose('DROP INDEX CONCURRENTLY IF EXISTS {idx}', idx=idx), 1, index['bytes'],
                      ['invalid leftover of an interrupted REINDEX CONCURRENTLY'], **extra)]
    if not index['valid']:
        return [_item(database, 'index', index['schemaname'], index['indexname'], 'reindex',
                      compose('REINDEX INDEX CONCURRENTLY {idx}', idx=idx), 2, index['bytes'],
                      ['invalid (a failed CREATE INDEX CONCURRENTLY): costs every write, serves no read'], **extra)]
    bloat = index['bloat_pct']
    if bloat is not None and bloat >= th['reindex_bloat_pct'] and index['bytes'] >= th['reindex_min_bytes']:
        wasted = int(index['bytes'] * bloat / 100.0)
        return [_item(database, 'index', index['schemaname'], index['indexname'], 'reindex',
                      compose('REINDEX INDEX CONCURRENTLY {idx}', idx=idx), 6, wasted,
                      ['%.1f%% bloat (%s), about %d bytes to gain' % (bloat, index['bloat_method'], wasted)], **extra)]
    return []


def _repack_items(database, table, th, actions, installed):
    """pg_repack for a table past ``repack_bloat_pct``: rebuilt online (an ACCESS EXCLUSIVE lock only at
    its start and end, each waited for at most the lock timeout), where the extension is installed."""
    bloat = table['bloat_pct']
    if 'repack' not in actions or bloat is None or bloat < th['repack_bloat_pct'] or \
            table['bytes'] < th['repack_min_bytes']:
        return []
    wasted = int(table['bytes'] * bloat / 100.0)
    item = _item(database, 'table', table['schemaname'], table['relname'], 'repack', None, 7, wasted,
                 ['%.1f%% bloat (%s), about %d bytes to gain' % (bloat, table['bloat_method'], wasted)],
                 bytes=table['bytes'], bloat_pct=bloat, bloat_method=table['bloat_method'])
    if not installed:
        item['_unavailable'] = 'the pg_repack extension is not installed in %s (CREATE EXTENSION pg_repack)' % database
    return [item]


def plan(candidates, thresholds, actions, max_objects):
    """``candidates``: {database: {'tables': [...], 'indexes': [...], 'table_bloat': [...], 'repack': bool}}
    -> (planned, over_budget)."""
    items = []
    for database in sorted(candidates):
        for table in candidates[database]['tables']:
            items.extend(_table_items(database, table, thresholds, actions))
        for index in candidates[database]['indexes']:
            items.extend(_index_items(database, index, thresholds, actions))
        for table in candidates[database].get('table_bloat') or []:
            items.extend(_repack_items(database, table, thresholds, actions, candidates[database].get('repack')))
    items.sort(key=lambda i: (i['rank'], -i['weight'], i['database'], i['schema'], i['name']))
    for position, item in enumerate(items, 1):
        item['order'] = position
    return items[:max_objects], items[max_objects:]


def collect(session, th, max_objects, measure_bloat, repack=False):
    """The candidates of one database in four statements (five with repack): tables, pgstattuple's
    schema, indexes, table bloat (and whether pg_repack is installed). Each list holds up to twice the
    object budget, so the report names what the budget left out."""
    max_objects = 2 * max_objects
    tables = session.fetch_one(q.TABLES, dict(th, max_objects=max_objects))['tables']
    schema = pgstattuple_schema(session) if measure_bloat else ''
    small = 8 * 8192
    indexes = index_bloat(session, min(th['reindex_min_bytes'], small), th['exact_max_bytes'], max_objects,
                          measure_bloat, schema)
    bloat = table_bloat(session, min(th['repack_min_bytes'], small), th['exact_max_bytes'], max_objects,
                        measure_bloat, schema)
    out = {'tables': tables, 'indexes': indexes, 'table_bloat': bloat}
    if repack:
        out['repack'] = session.fetch_one(q.PG_REPACK)['installed']
    return out


def repack_argv(binary, item, lock_timeout_ms):
    """The pg_repack command of an item, connection options aside: the table, the lock wait, and never
    cancelling the sessions that hold the lock (it gives up instead)."""
    return [binary, '--dbname=%s' % item['database'], '--table=%s' % quoted(item['schema'], item['name']),
            '--wait-timeout=%d' % max(1, (lock_timeout_ms + 999) // 1000), '--no-kill-backend']


def render(items, conn, repack_bin='pg_repack', lock_timeout_ms=1000):
    """Write each item's statement as text (quoting identifiers needs a connection)."""
    for item in items:
        if item['action'] == 'repack':
            item['statement'] = ' '.join(repack_argv(repack_bin, item, lock_timeout_ms))
        else:
            item['statement'] = item['_statement'].as_string(conn)


def public(item):
    """An item as the module returns it."""
    return dict((k, v) for k, v in item.items() if not k.startswith('_'))


class Runner(object):
    """Runs plan items database by database in autocommit sessions (VACUUM and REINDEX CONCURRENTLY
    can not run inside a transaction block)."""

    def __init__(self, open_session, lock_timeout_ms, statement_timeout_s, time_budget_s, repack=None):
        self.open_session = open_session
        self.repack = repack
        self.lock_timeout_ms = lock_timeout_ms
        self.statement_timeout_s = statement_timeout_s
        self.time_budget_s = time_budget_s
        self.sessions = {}
        self.started = time.time()

    def _session(self, database):
        if database not in self.sessions:
            session = self.open_session(database)
            session.conn.autocommit = True
            self.sessions[database] = session
        return self.sessions[database]

    def remaining(self):
        return self.time_budget_s - (time.time() - self.started)

    def run(self, item):
        """Run one item; returns the outcome dict (status done, skipped or failed)."""
        left = self.remaining()
        if left <= 0:
            return {'status': 'skipped', 'why': 'time budget of %d s spent' % self.time_budget_s, 'seconds': 0.0}
        statement_ms = int(min(self.statement_timeout_s, max(left, 1)) * 1000)
        if item['action'] == 'repack':
            return self.repack(item, statement_ms / 1000.0)
        session = self._session(item['database'])
        session.fetch_all(q.SETTINGS, {'lock': '%dms' % self.lock_timeout_ms, 'statement': '%dms' % statement_ms})
        before = None
        if item['action'] == 'reindex':
            before = session.fetch_one(q.INVALID_OF_TABLE, {'oid': item['oid']})
        t0 = time.time()
        try:
            session.fetch_all(item['_statement'])
            return {'status': 'done', 'seconds': round(time.time() - t0, 3)}
        except PgopsError as exc:
            code = getattr(exc, 'pgcode', None)
            outcome = {'seconds': round(time.time() - t0, 3), 'error': exc.msg}
            if code == psycopg2.errorcodes.LOCK_NOT_AVAILABLE:
                outcome.update(status='skipped', why='lock not granted within %d ms (lock_timeout)' % self.lock_timeout_ms)
            elif code == psycopg2.errorcodes.QUERY_CANCELED:
                outcome.update(status='skipped', why='stopped by statement_timeout after %d ms%s' % (
                    statement_ms, ' (the rest of the time budget)' if statement_ms < self.statement_timeout_s * 1000 else ''))
            else:
                outcome.update(status='failed', why=exc.msg)
            if before:
                outcome.update(self._drop_leftovers(session, before))
            return outcome

    def _drop_leftovers(self, session, before):
        """Drop the invalid copy a failed REINDEX INDEX CONCURRENTLY left on the table."""
        left = session.fetch_all(q.LEFTOVER, {'table_oid': before['table_oid'], 'before': before['invalid']})
        dropped, kept = [], []
        session.fetch_all(q.SETTINGS, {'lock': '%dms' % max(self.lock_timeout_ms, 5000),
                                       'statement': '%dms' % (self.statement_timeout_s * 1000)})
        for row in left:
            name = quoted(row['schemaname'], row['indexname'])
            try:
                session.fetch_all(compose('DROP INDEX CONCURRENTLY IF EXISTS {idx}',
                                          idx=identifier(row['schemaname'], row['indexname'])))
                dropped.append(name)
            except PgopsError:
                kept.append(name)
        out = {}
        if dropped:
            out['put_back'] = 'dropped the invalid copy the interrupted REINDEX left: %s' % ', '.join(dropped)
        if kept:
            out['left_behind'] = kept
            out['remediation'] = '; '.join('DROP INDEX CONCURRENTLY %s;' % name for name in kept)
        return out

    def close(self):
        for session in self.sessions.values():
            session.close()
