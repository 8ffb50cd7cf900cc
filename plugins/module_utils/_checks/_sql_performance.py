# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The statements of the performance review: where pg_stat_statements is, the statements (one
statement, ranked and capped on the server), and the server-wide figures (one statement).

The columns read from pg_stat_statements are those every version from PostgreSQL 13 to 18 has.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

EXTENSION = """
SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements') AS schema,
       'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
         AS preloaded,
       current_setting('track_io_timing') AS track_io_timing,
       current_setting('server_version_num')::int AS version_num
"""

# {schema} is the extension's schema (psycopg2.sql). Parameters: top, keep. A statement is returned
# when it is among the ``top`` by any measure, or among the ``keep`` by total time (the snapshot).
STATEMENTS = """
WITH s AS (
  SELECT s.queryid::text AS queryid, d.datname, r.rolname,
         left(regexp_replace(s.query, '\\s+', ' ', 'g'), 300) AS query,
         s.calls::int8 AS calls, s.total_exec_time::float8 AS total_ms, s.mean_exec_time::float8 AS mean_ms,
         s.rows::int8 AS rows, s.shared_blks_hit::int8 AS shared_blks_hit, s.shared_blks_read::int8 AS shared_blks_read,
         s.temp_blks_written::int8 AS temp_blks_written
    FROM {schema}.pg_stat_statements s
    LEFT JOIN pg_database d ON d.oid = s.dbid
    LEFT JOIN pg_roles r ON r.oid = s.userid
), ranked AS (
  SELECT s.*, rank() OVER (ORDER BY total_ms DESC) AS by_total, rank() OVER (ORDER BY mean_ms DESC) AS by_mean,
         rank() OVER (ORDER BY calls DESC) AS by_calls, rank() OVER (ORDER BY shared_blks_read DESC) AS by_read,
         rank() OVER (ORDER BY temp_blks_written DESC) AS by_temp
    FROM s
)
SELECT (SELECT count(*) FROM s)::int8 AS statements, (SELECT coalesce(sum(total_ms), 0) FROM s)::float8 AS total_ms,
       (SELECT coalesce(json_agg(x ORDER BY x.by_total), '[]') FROM ranked x
         WHERE x.by_total <= %(keep)s
            OR least(x.by_total, x.by_mean, x.by_calls, x.by_read, x.by_temp) <= %(top)s) AS rows
"""

# The server since its statistics were last reset; {checkpoints} is one of the two below.
SERVER = """
SELECT (SELECT sum(blks_hit)::float8 / nullif(sum(blks_hit) + sum(blks_read), 0) * 100
          FROM pg_stat_database)::float8 AS cache_hit_pct,
       (SELECT sum(temp_files) FROM pg_stat_database)::int8 AS temp_files,
       (SELECT sum(temp_bytes) FROM pg_stat_database)::int8 AS temp_bytes,
       {checkpoints}
"""

CHECKPOINTS_BGWRITER = """
       (SELECT checkpoints_timed FROM pg_stat_bgwriter)::int8 AS checkpoints_timed,
       (SELECT checkpoints_req FROM pg_stat_bgwriter)::int8 AS checkpoints_requested,
       (SELECT buffers_backend FROM pg_stat_bgwriter)::int8 AS buffers_backend,
       (SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter)::int8 AS buffers_written
"""

# PostgreSQL 17 moved the checkpoint counters to pg_stat_checkpointer and backend writes to pg_stat_io.
CHECKPOINTS_17 = """
       (SELECT num_timed FROM pg_stat_checkpointer)::int8 AS checkpoints_timed,
       (SELECT num_requested FROM pg_stat_checkpointer)::int8 AS checkpoints_requested,
       (SELECT coalesce(sum(writes), 0) FROM pg_stat_io WHERE backend_type = 'client backend')::int8 AS buffers_backend,
       (SELECT coalesce(sum(writes), 0) FROM pg_stat_io)::int8 AS buffers_written
"""
