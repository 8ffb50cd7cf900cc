# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The catalog queries of the daily health check.

Two statements for the server and one per database, whatever the number of
objects: lists of objects are aggregated to JSON on the server and capped with
LIMIT, so a database with 10,000 tables costs the same round trips as one
with ten.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SERVER = """
SELECT
  current_setting('server_version') AS version,
  current_setting('server_version_num')::int AS version_num,
  pg_postmaster_start_time()::text AS started_at,
  extract(epoch FROM now() - pg_postmaster_start_time())::float8 AS uptime_s,
  pg_is_in_recovery() AS in_recovery,
  current_setting('max_connections')::int AS max_connections,
  current_setting('superuser_reserved_connections')::int AS superuser_reserved,
  current_setting('data_directory') AS data_directory,
  current_setting('data_checksums') AS data_checksums,
  current_setting('archive_mode') AS archive_mode,
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS connections,
  (SELECT coalesce(json_agg(a), '[]') FROM (
     SELECT pid, usename, datname, application_name, client_addr::text AS client_addr, state,
            extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,
            extract(epoch FROM now() - query_start)::float8 AS query_age_s,
            left(query, 200) AS query
       FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND state IS DISTINCT FROM 'idle') a) AS sessions,
  (SELECT coalesce(json_agg(p), '[]') FROM (
     SELECT gid, owner, database, extract(epoch FROM now() - prepared)::float8 AS age_s
       FROM pg_prepared_xacts) p) AS prepared,
  (SELECT coalesce(json_agg(d), '[]') FROM (
     SELECT d.datname, d.datallowconn, d.datistemplate,
            age(d.datfrozenxid)::bigint AS xid_age, mxid_age(d.datminmxid)::bigint AS mxid_age,
            CASE WHEN d.datallowconn THEN pg_database_size(d.oid) END AS size_bytes,
            s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit, s.deadlocks,
            s.checksum_failures, s.checksum_last_failure::text AS checksum_last_failure,
            extract(epoch FROM now() - coalesce(s.stats_reset, pg_postmaster_start_time()))::float8
              AS stats_age_s
       FROM pg_database d LEFT JOIN pg_stat_database s ON s.datid = d.oid
      ORDER BY d.datname) d) AS databases,
  (SELECT coalesce(json_agg(r), '[]') FROM (
     SELECT application_name, client_addr::text AS client_addr, state, sync_state,
            CASE WHEN pg_is_in_recovery() THEN NULL
                 ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 END AS replay_lag_bytes,
            extract(epoch FROM replay_lag)::float8 AS replay_lag_s
       FROM pg_stat_replication) r) AS replication,
  CASE WHEN pg_is_in_recovery() THEN json_build_object(
     'receive_lsn', pg_last_wal_receive_lsn()::text,
     'replay_lsn', pg_last_wal_replay_lsn()::text,
     'replay_pending_bytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
     'replay_age_s', extract(epoch FROM now() - pg_last_xact_replay_timestamp()),
     'receiver_status', (SELECT status FROM pg_stat_wal_receiver LIMIT 1)) END AS standby,
  (SELECT coalesce(json_agg(s), '[]') FROM (
     SELECT slot_name, slot_type, database, active, wal_status::text AS wal_status,
            pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                                 ELSE pg_current_wal_lsn() END, restart_lsn)::float8 AS retained_bytes
       FROM pg_replication_slots) s) AS slots,
  (SELECT row_to_json(x) FROM (
     SELECT archived_count, failed_count, last_archived_wal, last_failed_wal,
            last_archived_time::text AS last_archived_time, last_failed_time::text AS last_failed_time,
            coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing
       FROM pg_stat_archiver) x) AS archiver,
  (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%%.ready')::int AS archive_ready,
  (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())::int8 AS wal_bytes,
  (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_settings WHERE pending_restart)
    AS pending_restart
"""

# Sequences: read from pg_sequence (the catalog), not pg_sequences, whose last_value opens every
# sequence. A sequence's current value is read (pg_sequence_last_value) only when its remaining
# range from its start value, in steps of its increment and capped by the type of the int2 or int4
# column it fills, is under %(seq_steps)s steps: a serial or identity column of type int, a small
# maxvalue, a large increment, a start near the end. A bigint sequence counting by one from 1 has
# 9.2e18 steps and is not read. The int columns a sequence fills are found from the column side
# (int2/int4 columns with a default or identity, then their owned sequence through pg_depend's
# index), so the cost does not grow with one catalog lookup per sequence.
SEQUENCE_READ_STEPS = 2 ** 53  # 9.0e15 steps: 285 years at a million nextval() a second

# Parameters: min_rows, analyze_stale_s, analyze_mod_ratio, dead_ratio, seq_pct, seq_steps, max_objects.
DATABASE = """
WITH int_filled AS (
  SELECT DISTINCT ON (d.objid) d.objid AS seqrelid, a.atttypid
    FROM pg_attribute a
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                    AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass
                    AND d.deptype IN ('a', 'i')
   WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype) AND a.attnum > 0 AND NOT a.attisdropped
     AND (a.atthasdef OR a.attidentity <> '')
   ORDER BY d.objid, a.atttypid
), seq AS MATERIALIZED (
  SELECT s.seqrelid, s.seqincrement AS increment_by,
         greatest(s.seqmin, CASE f.atttypid WHEN 'int2'::regtype THEN -32768
                                            WHEN 'int4'::regtype THEN -2147483648
                                            ELSE s.seqmin END) AS min_value,
         least(s.seqmax, CASE f.atttypid WHEN 'int2'::regtype THEN 32767
                                         WHEN 'int4'::regtype THEN 2147483647
                                         ELSE s.seqmax END) AS max_value
    FROM pg_sequence s LEFT JOIN int_filled f ON f.seqrelid = s.seqrelid
   WHERE NOT s.seqcycle
     AND (CASE WHEN s.seqincrement > 0
               THEN least(s.seqmax, CASE f.atttypid WHEN 'int2'::regtype THEN 32767
                                                    WHEN 'int4'::regtype THEN 2147483647
                                                    ELSE s.seqmax END)::numeric - s.seqstart
               ELSE s.seqstart::numeric - greatest(s.seqmin, CASE f.atttypid WHEN 'int2'::regtype THEN -32768
                                                                              WHEN 'int4'::regtype THEN -2147483648
                                                                              ELSE s.seqmin END)
          END) / abs(s.seqincrement) < %(seq_steps)s
), seq_read AS MATERIALIZED (
  SELECT seq.*, n.nspname AS schemaname, c.relname AS sequencename,
         format_type(a.atttypid, NULL) AS column_type,
         CASE WHEN a.attname IS NOT NULL
              THEN format('%%I.%%I.%%I', tn.nspname, t.relname, a.attname) END AS owned_by,
         CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
              THEN pg_sequence_last_value(c.oid::regclass) END AS last_value
    FROM seq
    JOIN pg_class c ON c.oid = seq.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    LEFT JOIN pg_class t ON t.oid = a.attrelid
    LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
   WHERE NOT pg_is_other_temp_schema(n.oid)
), seq_used AS (
  SELECT *, round((CASE WHEN increment_by > 0
                        THEN (last_value - min_value)::numeric / nullif(max_value - min_value, 0)
                        ELSE (max_value - last_value)::numeric / nullif(max_value - min_value, 0)
                   END * 100), 2)::float8 AS used_pct
    FROM seq_read WHERE last_value IS NOT NULL
)
SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast')::int AS table_count,
  (SELECT coalesce(json_agg(t), '[]') FROM (
     SELECT schemaname, relname, n_live_tup, n_dead_tup, n_mod_since_analyze,
            extract(epoch FROM now() - greatest(last_vacuum, last_autovacuum))::float8 AS vacuum_age_s,
            extract(epoch FROM now() - greatest(last_analyze, last_autoanalyze))::float8 AS analyze_age_s
       FROM pg_stat_user_tables
      WHERE n_live_tup + n_dead_tup >= %(min_rows)s
        AND (greatest(last_analyze, last_autoanalyze) IS NULL
             OR greatest(last_vacuum, last_autovacuum) IS NULL
             OR (greatest(last_analyze, last_autoanalyze) < now() - make_interval(secs => %(analyze_stale_s)s)
                 AND n_mod_since_analyze >= %(analyze_mod_ratio)s * greatest(n_live_tup, 1))
             OR n_dead_tup >= %(dead_ratio)s * (n_live_tup + n_dead_tup))
      ORDER BY n_dead_tup DESC, n_live_tup DESC
      LIMIT %(max_objects)s) t) AS tables,
  (SELECT coalesce(json_agg(s), '[]') FROM (
     SELECT schemaname, sequencename, last_value, max_value, column_type, owned_by, used_pct
       FROM seq_used WHERE used_pct >= %(seq_pct)s
      ORDER BY used_pct DESC LIMIT %(max_objects)s) s) AS sequences,
  (SELECT coalesce(json_agg(i), '[]') FROM (
     SELECT n.nspname AS schemaname, c.relname AS indexname, t.relname AS tablename
       FROM pg_index x
       JOIN pg_class c ON c.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT x.indisvalid
      ORDER BY 1, 2 LIMIT %(max_objects)s) i) AS invalid_indexes,
  -- the largest tables with their indexes and TOAST, from relpages (no lock taken), for the capacity history
  (SELECT coalesce(json_agg(l), '[]') FROM (
     SELECT n.nspname AS schemaname, c.relname,
            ((c.relpages::int8 + coalesce(tt.relpages, 0)
              + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                           WHERE x.indrelid = c.oid), 0)) * current_setting('block_size')::int8)::int8 AS bytes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class tt ON tt.oid = c.reltoastrelid
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_toast' AND NOT pg_is_other_temp_schema(n.oid)
      ORDER BY 3 DESC, 1, 2 LIMIT 10) l) AS largest_tables
"""
