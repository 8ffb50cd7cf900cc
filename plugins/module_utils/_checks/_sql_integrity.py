# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The statements of the amcheck rotation.

One statement per database lists what can be verified (valid btree indexes, and tables and
materialized views when verify_heapam exists), in oid order, with the size from relpages and the
schema of the amcheck extension (NULL when it is not installed). Then one statement per relation,
the verification itself; ``{schema}`` is the extension's schema, quoted by ``psycopg2.sql``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

RELATIONS = """
SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'amcheck') AS amcheck_schema,
       EXISTS (SELECT 1 FROM pg_extension e JOIN pg_proc p ON p.pronamespace = e.extnamespace
                WHERE e.extname = 'amcheck' AND p.proname = 'verify_heapam') AS has_heapam,
       (SELECT coalesce(json_agg(r ORDER BY r.oid), '[]') FROM (
          SELECT c.oid::int8 AS oid, n.nspname AS schemaname, c.relname,
                 CASE WHEN c.relkind = 'i' THEN 'index' ELSE 'table' END AS kind,
                 c.relpages::int8 * current_setting('block_size')::int8 AS bytes
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_index x ON x.indexrelid = c.oid
            LEFT JOIN pg_am am ON am.oid = c.relam
           WHERE NOT pg_is_other_temp_schema(n.oid) AND c.relpersistence <> 't'
             AND ((c.relkind = 'i' AND am.amname = 'btree' AND x.indisvalid AND x.indisready)
                  OR (%(heap)s AND c.relkind IN ('r', 'm', 't')))) r) AS relations
"""

# Sent with the verification in one round trip: the time the run has left, for this transaction.
TIMEOUT = "SELECT set_config('statement_timeout', %(timeout)s, true)"

# Parameters: oid. Each raises an error (a corrupt index) or returns rows (a corrupt heap).
BT_INDEX_CHECK = "SELECT {schema}.bt_index_check(%(oid)s::regclass, %(heapallindexed)s)"
VERIFY_HEAPAM = """
SELECT blkno, offnum, attnum, msg FROM {schema}.verify_heapam(%(oid)s::regclass, on_error_stop => false,
                                                           check_toast => true) LIMIT 20
"""
