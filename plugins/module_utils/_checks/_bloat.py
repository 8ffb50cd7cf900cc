# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Bloat of btree indexes and tables, shared by the maintenance module and the index review.

pgstattuple measures where the extension is installed in the database (``pgstatindex`` for indexes,
``pgstattuple_approx`` for tables, each up to a size cap: they read the relation); the statistical
estimate from pg_stats is used otherwise, and again when a relation to be measured is locked by
someone else (the session's lock_timeout). Every row names its method.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import psycopg2.errorcodes
except ImportError:  # pragma: no cover - require_psycopg2 says so first
    psycopg2 = None

from ansible_collections.pgops.postgresql.plugins.module_utils import _sql_maintenance as qm
from ansible_collections.pgops.postgresql.plugins.module_utils._plots import human
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import QueryFailed
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import identifier


def size(n):
    """Bytes for people: 8.0 kB, 12.3 MB, 1.5 GB (the plots' formatter)."""
    return human(n or 0, 'bytes')


def pgstattuple_schema(session):
    """The schema of pgstattuple in the session's database, quoted, or '' when it is not installed."""
    row = session.fetch_one(qm.PGSTATTUPLE)
    return identifier(row['schema']).as_string(session.conn) if row else ''


def _measured(session, statement, measure, no_measure, schema, key, args):
    """The statement with ``measure`` (pgstattuple in ``schema``), falling back on ``no_measure``
    when a relation to be measured is locked."""
    if schema:
        try:
            return session.fetch_one(statement.replace('{measure}', measure.replace('{schema}', schema)), args)[key]
        except QueryFailed as exc:
            if getattr(exc, 'pgcode', None) != psycopg2.errorcodes.LOCK_NOT_AVAILABLE:
                raise
            session.conn.rollback()
    return session.fetch_one(statement.replace('{measure}', no_measure), args)[key]


def index_bloat(session, min_bytes, exact_max_bytes, max_objects, measure=True, schema=None):
    """The invalid indexes and the btree indexes with the most estimated waste, with their bloat and
    the method that measured it. One statement (two when an index to be measured is locked); the
    pgstattuple lookup too unless ``schema`` is given."""
    if measure and schema is None:
        schema = pgstattuple_schema(session)
    args = {'min_bytes': min_bytes, 'exact_max_bytes': exact_max_bytes, 'max_objects': max_objects}
    return _measured(session, qm.INDEXES, qm.MEASURE, qm.NO_MEASURE, schema if measure else None, 'indexes', args)


def table_bloat(session, min_bytes, exact_max_bytes, max_objects, measure=True, schema=None):
    """The tables with the most estimated free space, with their bloat (free and dead space) and method."""
    if measure and schema is None:
        schema = pgstattuple_schema(session)
    args = {'min_bytes': min_bytes, 'exact_max_bytes': exact_max_bytes, 'max_objects': max_objects}
    return _measured(session, qm.TABLE_BLOAT, qm.TABLE_MEASURE, qm.NO_TABLE_MEASURE, schema if measure else None,
                     'tables', args)
