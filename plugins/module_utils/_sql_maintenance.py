# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Catalog statements of the maintenance module: one statement per database finds every candidate.

Tables come from pg_stat_user_tables joined to pg_class (size, relfrozenxid age); only those past
a threshold are returned, aggregated to JSON on the server and capped with LIMIT, so the cost does
not grow with the number of tables. Sizes come from pg_class.relpages (as of the last VACUUM,
ANALYZE or index build), not pg_relation_size: that takes a lock, and a table locked by someone
else must not hold the collection up. Index bloat is measured with pgstattuple's ``pgstatindex``
when the extension is installed in the database (indexes up to ``exact_max_bytes``; the function
reads the whole index) and estimated from pg_stats otherwise (the expected leaf pages of the
index's tuples at its fillfactor against its actual pages); each row says which method.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

IN_RECOVERY = "SELECT pg_is_in_recovery() AS standby"

# Where pgstattuple is installed in the current database (its schema), if it is.
PGSTATTUPLE = """
SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'pgstattuple'
"""

# Whether pg_repack is installed in the current database.
PG_REPACK = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_repack') AS installed"

# Table bloat: the tables with the most estimated free space, at least min_bytes (at most max_objects).
# The estimate: the pages the rows need (a 24-byte header, the null bitmap, the columns' average width
# from pg_stats weighted by their non-null share, aligned to 8, a 4-byte line pointer) at the table's
# fillfactor, against its pages. {measure} is the LATERAL that measures with pgstattuple_approx (free
# and dead space; it skips the all-visible pages) or NULLs. Parameters: min_bytes, exact_max_bytes,
# max_objects.
TABLE_BLOAT = """
WITH t AS (
  SELECT c.oid, n.nspname AS schemaname, c.relname, c.relpages::int8 AS relpages,
         greatest(c.reltuples, 0)::float8 AS reltuples,
         c.relpages::int8 * current_setting('block_size')::int8 AS bytes,
         coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) o
                    WHERE o LIKE 'fillfactor=%%'), 100) AS fillfactor
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND n.nspname !~ '^pg_toast' AND NOT pg_is_other_temp_schema(n.oid)
     AND c.relpages::int8 * current_setting('block_size')::int8 >= %(min_bytes)s
), w AS (
  SELECT t.oid, sum((1 - coalesce(s.null_frac, 0)) * s.avg_width)::float8 AS width,
         count(s.attname) = count(a.attnum) AS known, count(a.attnum) AS ncols,
         coalesce(max(s.null_frac), 0) > 0 AS has_nulls
    FROM t
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats s ON s.schemaname = t.schemaname AND s.tablename = t.relname AND s.attname = a.attname
                        AND NOT s.inherited
   GROUP BY t.oid
), est AS (
  SELECT t.*, CASE WHEN w.known AND t.relpages > 0 THEN
           ceil(t.reltuples * (24 + CASE WHEN w.has_nulls THEN ceil(w.ncols / 8.0) ELSE 0 END
                               + 8 * ceil(w.width / 8.0) + 4)
                / ((current_setting('block_size')::int - 24) * t.fillfactor / 100.0)) END AS expected_pages
    FROM t LEFT JOIN w USING (oid)
)
SELECT coalesce(json_agg(r), '[]') AS tables FROM (
  SELECT e.schemaname, e.relname, e.oid::int8 AS oid, e.bytes,
         CASE WHEN m.free IS NOT NULL THEN 'pgstattuple_approx'
              WHEN e.expected_pages IS NOT NULL THEN 'estimate' END AS bloat_method,
         round(CASE WHEN m.free IS NOT NULL THEN least(100, m.free)
                    WHEN e.expected_pages IS NOT NULL
                    THEN greatest(0, 100 * (e.relpages - e.expected_pages) / e.relpages) END::numeric, 1)::float8
           AS bloat_pct
    FROM (SELECT * FROM est
           ORDER BY coalesce((relpages - expected_pages) * current_setting('block_size')::int8, 0) DESC, bytes DESC
           LIMIT %(max_objects)s) e
    {measure}
   ORDER BY bloat_pct DESC NULLS LAST, e.bytes DESC) r
"""

NO_TABLE_MEASURE = "LEFT JOIN LATERAL (SELECT NULL::float8 AS free) m ON true"

TABLE_MEASURE = """LEFT JOIN LATERAL (
      SELECT CASE WHEN e.bytes <= %(exact_max_bytes)s
                  THEN (SELECT a.approx_free_percent + a.dead_tuple_percent
                          FROM {schema}.pgstattuple_approx(e.oid::regclass) a) END AS free) m ON true"""

# Parameters: analyze_min_changes, analyze_mod_ratio, vacuum_min_dead, vacuum_dead_ratio, vacuum_xid_age,
# max_objects. Per table: why (never analyzed, modified since, dead rows, xid age) and the figures.
TABLES = """
SELECT coalesce(json_agg(t), '[]') AS tables FROM (
  SELECT n.nspname AS schemaname, c.relname, c.oid::int8 AS oid,
         c.relpages::int8 * current_setting('block_size')::int8 AS bytes,
         s.n_live_tup::int8 AS n_live_tup, s.n_dead_tup::int8 AS n_dead_tup,
         s.n_mod_since_analyze::int8 AS n_mod_since_analyze,
         greatest(s.last_analyze, s.last_autoanalyze) IS NULL AS never_analyzed,
         age(c.relfrozenxid)::int8 AS xid_age
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_stat_user_tables s ON s.relid = c.oid
   WHERE c.relkind IN ('r', 'm')
     AND NOT pg_is_other_temp_schema(n.oid)
     AND ((s.n_mod_since_analyze >= %(analyze_min_changes)s
           AND (greatest(s.last_analyze, s.last_autoanalyze) IS NULL
                OR s.n_mod_since_analyze >= %(analyze_mod_ratio)s * greatest(s.n_live_tup, 1)))
          OR (s.n_dead_tup >= %(vacuum_min_dead)s
              AND s.n_dead_tup >= %(vacuum_dead_ratio)s * (s.n_live_tup + s.n_dead_tup))
          OR age(c.relfrozenxid) >= %(vacuum_xid_age)s)
   ORDER BY age(c.relfrozenxid) DESC, s.n_dead_tup DESC, s.n_mod_since_analyze DESC
   LIMIT %(max_objects)s) t
"""

# The invalid indexes and the btree indexes with the most estimated waste (at most max_objects, so
# pgstatindex reads at most that many), with their bloat. {measure} is the LATERAL that measures
# (pgstatindex, or NULLs when the extension is not installed or measure_bloat is off).
# Parameters: min_bytes, exact_max_bytes, max_objects.
INDEXES = """
WITH idx AS (
  SELECT x.indexrelid, x.indrelid, n.nspname AS schemaname, c.relname AS indexname, t.relname AS tablename,
         x.indisvalid, c.relpages::int8 AS relpages, greatest(c.reltuples, 0)::float8 AS reltuples,
         c.relpages::int8 * current_setting('block_size')::int8 AS bytes, am.amname,
         coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) o
                    WHERE o LIKE 'fillfactor=%%'), 90) AS fillfactor,
         EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid) AS backs_constraint,
         x.indkey
    FROM pg_index x
    JOIN pg_class c ON c.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_am am ON am.oid = c.relam
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
     AND NOT pg_is_other_temp_schema(n.oid)
     AND (NOT x.indisvalid OR (am.amname = 'btree' AND c.relpages::int8 * current_setting('block_size')::int8
                                                        >= %(min_bytes)s))
), width AS (
  -- the average width of the key columns (an expression column has none: no estimate)
  SELECT i.indexrelid, sum(s.avg_width)::float8 AS key_width, bool_and(s.avg_width IS NOT NULL) AS known
    FROM idx i
   CROSS JOIN LATERAL unnest(i.indkey::int2[]) AS k(attnum)
    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
    LEFT JOIN pg_stats s ON s.schemaname = i.schemaname AND s.tablename = i.tablename AND s.attname = a.attname
   GROUP BY i.indexrelid
), est AS (
  SELECT i.*, w.known,
         -- leaf tuples: 8 bytes of header and the key, aligned to 8, and a 4-byte line pointer;
         -- a page holds 8192 less 24 (header) and 16 (btree special space) at its fillfactor
         CASE WHEN w.known AND i.relpages > 1 THEN
           ceil(i.reltuples * (8 + 8 * ceil(w.key_width / 8.0) + 4)
                / ((current_setting('block_size')::int - 40) * i.fillfactor / 100.0)) + 1 END AS expected_pages
    FROM idx i LEFT JOIN width w USING (indexrelid)
)
SELECT coalesce(json_agg(r), '[]') AS indexes FROM (
  SELECT e.schemaname, e.indexname, e.tablename, e.indisvalid AS valid, e.bytes, e.backs_constraint,
         e.indexrelid::int8 AS oid,
         CASE WHEN m.density IS NOT NULL THEN 'pgstatindex'
              WHEN e.expected_pages IS NOT NULL THEN 'estimate' END AS bloat_method,
         round(CASE WHEN m.density IS NOT NULL
                    THEN greatest(0, 100 - 100 * m.density / e.fillfactor)
                    WHEN e.expected_pages IS NOT NULL
                    THEN greatest(0, 100 * (e.relpages - e.expected_pages) / e.relpages) END::numeric, 1)::float8
           AS bloat_pct
    FROM (SELECT * FROM est
           ORDER BY NOT indisvalid DESC,
                    coalesce((relpages - expected_pages) * current_setting('block_size')::int8, bytes) DESC
           LIMIT %(max_objects)s) e
    {measure}
   ORDER BY NOT e.indisvalid DESC, e.bytes DESC) r
"""

NO_MEASURE = "LEFT JOIN LATERAL (SELECT NULL::float8 AS density) m ON true"

# pgstatindex reads every page of the index: only valid btree indexes up to exact_max_bytes.
MEASURE = """LEFT JOIN LATERAL (
      SELECT CASE WHEN e.indisvalid AND e.amname = 'btree' AND e.bytes <= %(exact_max_bytes)s AND e.relpages > 1
                  THEN (SELECT nullif(s.avg_leaf_density, 'NaN') FROM {schema}.pgstatindex(e.indexrelid::regclass) s)
             END AS density) m ON true"""

# The leftover of a REINDEX INDEX CONCURRENTLY that failed: an invalid index (<index>_ccnew) on
# the same table that was not invalid before the statement.
LEFTOVER = """
SELECT n.nspname AS schemaname, c.relname AS indexname
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE x.indrelid = %(table_oid)s AND NOT x.indisvalid
   AND NOT (x.indexrelid::int8 = ANY (%(before)s::int8[]))
"""

# The invalid indexes of a table, and the table of an index.
INVALID_OF_TABLE = """
SELECT x.indrelid::int8 AS table_oid,
       coalesce((SELECT array_agg(y.indexrelid::int8) FROM pg_index y
                  WHERE y.indrelid = x.indrelid AND NOT y.indisvalid), '{}') AS invalid
  FROM pg_index x WHERE x.indexrelid = %(oid)s
"""

SETTINGS = "SELECT set_config('lock_timeout', %(lock)s, false), set_config('statement_timeout', %(statement)s, false)"
