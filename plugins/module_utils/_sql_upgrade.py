# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The statements a major upgrade reads on the old cluster before it changes anything: one for the
server, one per database for its extensions; and the one that lists the extensions to update on the
new cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SERVER = """
SELECT current_setting('server_version_num')::int AS version_num, current_setting('data_directory') AS data_directory,
       current_setting('config_file') AS config_file, current_setting('hba_file') AS hba_file,
       current_setting('ident_file') AS ident_file, current_setting('port')::int AS port,
       current_setting('shared_preload_libraries') AS shared_preload_libraries,
       current_setting('data_checksums') AS data_checksums,
       (SELECT rolname FROM pg_roles WHERE oid = 10) AS install_user,
       (SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'template1') AS encoding,
       (SELECT datcollate FROM pg_database WHERE datname = 'template1') AS lc_collate,
       (SELECT datctype FROM pg_database WHERE datname = 'template1') AS lc_ctype,
       -- columns of some majors only, read through jsonb so that one statement serves every major
       (SELECT to_jsonb(d) ->> 'datlocprovider' FROM pg_database d WHERE datname = 'template1') AS locale_provider,
       (SELECT coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale') FROM pg_database d
         WHERE datname = 'template1') AS icu_locale,
       (SELECT count(*) FROM pg_prepared_xacts)::int AS prepared_xacts,
       ARRAY(SELECT slot_name || ' (' || slot_type || ')' FROM pg_replication_slots ORDER BY 1)::text[] AS slots,
       (SELECT sum(pg_database_size(oid)) FROM pg_database)::int8 AS database_bytes,
       ARRAY(SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1)::text[] AS databases,
       pg_is_in_recovery() AS in_recovery"""

EXTENSIONS = """
SELECT current_database() AS database, extname AS name, extversion AS version FROM pg_extension ORDER BY 2"""

# column options pg_dump writes back (ALTER COLUMN ... SET (...)) in user relations, by name
ATTRIBUTE_OPTIONS = """
SELECT current_database() AS database, split_part(o, '=', 1) AS option, count(*)::int AS columns
  FROM pg_attribute a, unnest(a.attoptions) o
 WHERE a.attrelid >= 16384 AND a.attnum > 0 AND NOT a.attisdropped
 GROUP BY 2 ORDER BY 2"""

OUTDATED_EXTENSIONS = """
SELECT e.extname AS name, e.extversion AS installed, a.default_version AS available
  FROM pg_extension e JOIN pg_available_extensions a ON a.name = e.extname
 WHERE a.default_version IS DISTINCT FROM e.extversion
 ORDER BY 1"""
