# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The catalog statements of the monthly index review.

One statement per database finds the unused, duplicate and overlapping, invalid indexes, the
foreign keys without a supporting index and the tables read mostly by sequential scans; each list
is aggregated to JSON on the server and capped with LIMIT, so 30,000 indexes cost the same round
trips as thirty. Index bloat comes from the maintenance module's statement (``_sql_maintenance.INDEXES``).
Sizes come from pg_class.relpages (as of the last VACUUM, ANALYZE or index build): pg_relation_size
takes a lock, and a locked table must not hold a review up.

Key columns are compared as text arrays (``string_to_array(indkey::text, ' ')``): an int2vector's
subscripts start at 0, a text array's at 1, and only the first ``indnkeyatts`` entries are keys
(the rest are INCLUDE columns).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Parameters: unused_min_bytes, used (JSON [{schema, index}] of indexes scanned on a standby), seq_min_scans,
# seq_min_rows, max_objects.
DATABASE = """
WITH ix AS (
  SELECT x.indexrelid, x.indrelid, n.nspname AS schemaname, c.relname AS indexname, t.relname AS tablename,
         x.indisvalid AS valid, x.indisunique AS is_unique, x.indnkeyatts AS nkeys,
         (string_to_array(x.indkey::text, ' '))[1:x.indnkeyatts] AS keys,
         string_to_array(x.indclass::text, ' ') AS opclasses,
         string_to_array(x.indcollation::text, ' ') AS collations,
         string_to_array(x.indkey::text, ' ') AS allcols,
         pg_get_expr(x.indexprs, x.indrelid) AS exprs, pg_get_expr(x.indpred, x.indrelid) AS pred,
         c.relam, c.relpages::int8 * current_setting('block_size')::int8 AS bytes,
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AS backs_constraint,
         x.indisexclusion OR x.indisreplident OR x.indisprimary AS special,
         coalesce(s.idx_scan, 0)::int8 AS scans,
         pg_get_indexdef(x.indexrelid) AS definition
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
     AND NOT pg_is_other_temp_schema(n.oid)
)
SELECT
  extract(epoch FROM now() - coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                                      pg_postmaster_start_time()))::float8 AS stats_age_s,
  (SELECT coalesce(json_agg(u), '[]') FROM (
     SELECT schemaname, indexname, tablename, bytes, definition
       FROM ix
      WHERE scans = 0 AND valid AND NOT is_unique AND NOT backs_constraint AND NOT special
        AND bytes >= %(unused_min_bytes)s
        AND NOT EXISTS (SELECT 1 FROM json_to_recordset(%(used)s::json) AS e(schema text, index text)
                         WHERE e.schema = ix.schemaname AND e.index = ix.indexname)
      ORDER BY bytes DESC, schemaname, indexname
      LIMIT %(max_objects)s) u) AS unused,
  (SELECT coalesce(json_agg(d), '[]') FROM (
     -- a: the redundant index; b: the index that covers it (same table, access method, predicate
     -- and expressions; the same keys and operator classes, or a's keys a leading prefix of b's)
     SELECT * FROM (
     SELECT DISTINCT ON (a.indexrelid) a.schemaname, a.indexname, a.tablename, a.bytes, b.indexname AS covered_by,
            CASE WHEN a.keys = b.keys THEN 'duplicate' ELSE 'prefix' END AS kind,
            a.definition, b.definition AS covered_by_definition
       FROM ix a
       JOIN ix b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid AND b.relam = a.relam
      WHERE a.valid AND b.valid AND NOT a.backs_constraint AND NOT a.special AND NOT a.is_unique
        AND a.pred IS NOT DISTINCT FROM b.pred AND a.exprs IS NOT DISTINCT FROM b.exprs
        AND a.keys = b.keys[1:a.nkeys] AND a.opclasses = b.opclasses[1:a.nkeys]
        AND a.collations = b.collations[1:a.nkeys]
        AND CASE WHEN a.nkeys < b.nkeys
                 -- a prefix serves only btree, and only when a has no INCLUDE columns of its own
                 THEN (SELECT am.amname FROM pg_am am WHERE am.oid = a.relam) = 'btree'
                      AND cardinality(a.allcols) = a.nkeys
                 -- the same keys: a's INCLUDE columns are b's too; of two equal ones the newer goes
                 ELSE a.nkeys = b.nkeys AND a.allcols <@ b.allcols
                      AND (b.is_unique OR b.backs_constraint OR NOT b.allcols <@ a.allcols
                           OR a.indexrelid > b.indexrelid) END
      ORDER BY a.indexrelid, b.is_unique DESC, b.backs_constraint DESC, b.nkeys) r
      ORDER BY bytes DESC, schemaname, indexname
      LIMIT %(max_objects)s) d) AS redundant,
  (SELECT coalesce(json_agg(i), '[]') FROM (
     SELECT schemaname, indexname, tablename, bytes, backs_constraint, definition
       FROM ix WHERE NOT valid
      ORDER BY bytes DESC, schemaname, indexname
      LIMIT %(max_objects)s) i) AS invalid,
  (SELECT coalesce(json_agg(f), '[]') FROM (
     SELECT n.nspname AS schemaname, t.relname AS tablename, k.conname,
            k.confrelid::regclass::text AS referenced,
            (SELECT array_agg(a.attname ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns,
            t.relpages::int8 * current_setting('block_size')::int8 AS bytes
       FROM pg_constraint k
       JOIN pg_class t ON t.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE k.contype = 'f' AND NOT pg_is_other_temp_schema(n.oid)
        AND NOT EXISTS (
          SELECT 1 FROM pg_index x
           WHERE x.indrelid = k.conrelid AND x.indisvalid AND x.indpred IS NULL
             AND (string_to_array(x.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] @> k.conkey
             AND (string_to_array(x.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] <@ k.conkey)
      ORDER BY t.relpages DESC, n.nspname, t.relname, k.conname
      LIMIT %(max_objects)s) f) AS fk_unindexed,
  (SELECT coalesce(json_agg(s), '[]') FROM (
     SELECT s.schemaname, s.relname AS tablename, s.seq_scan::int8 AS seq_scan,
            s.seq_tup_read::int8 AS seq_tup_read, coalesce(s.idx_scan, 0)::int8 AS idx_scan,
            s.n_live_tup::int8 AS n_live_tup, c.relpages::int8 * current_setting('block_size')::int8 AS bytes
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.seq_scan >= %(seq_min_scans)s AND s.n_live_tup >= %(seq_min_rows)s
        AND s.seq_tup_read >= s.seq_scan * (%(seq_min_rows)s / 2)
        AND coalesce(s.idx_scan, 0) < s.seq_scan
      ORDER BY s.seq_tup_read DESC, s.schemaname, s.relname
      LIMIT %(max_objects)s) s) AS seq_heavy
"""

# Indexes that were scanned on this node (a standby) and that the review could call unused on the
# primary: only those are returned (all of them: a cap could make the primary call a used index unused).
# Parameters: unused_min_bytes.
SCANNED = """
SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'index', c.relname, 'scans', s.idx_scan)
                         ORDER BY n.nspname, c.relname), '[]') AS scanned
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
 WHERE s.idx_scan > 0 AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
   AND c.relpages::int8 * current_setting('block_size')::int8 >= %(unused_min_bytes)s
"""
