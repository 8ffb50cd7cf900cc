# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Catalog queries of the security audit: a fixed few for the server, one per database."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SETTINGS = """
SELECT name, setting, unit FROM pg_settings
 WHERE name IN ('data_checksums', 'data_directory', 'config_file', 'hba_file', 'ident_file', 'log_destination',
   'logging_collector', 'log_directory', 'log_connections', 'log_disconnections', 'log_line_prefix',
   'log_error_verbosity', 'log_min_messages', 'log_min_error_statement', 'log_statement', 'log_hostname',
   'log_timezone', 'log_file_mode', 'log_rotation_age', 'log_rotation_size', 'debug_print_parse',
   'debug_print_rewritten', 'debug_print_plan', 'shared_preload_libraries', 'pgaudit.log',
   'listen_addresses', 'password_encryption', 'authentication_timeout', 'ssl', 'ssl_min_protocol_version',
   'ssl_ciphers', 'ssl_cert_file', 'ssl_key_file', 'fsync', 'full_page_writes', 'archive_mode',
   'unix_socket_permissions', 'server_version')
"""

ROLES = """
SELECT r.rolname, r.rolsuper, r.rolcanlogin,
       (SELECT coalesce(json_agg(g.rolname), '[]') FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
         WHERE m.member = r.oid) AS member_of
  FROM pg_roles r
"""

MD5_HASHES = "SELECT rolname FROM pg_authid WHERE rolpassword LIKE 'md5%%' ORDER BY 1"

HBA_RULES = """
SELECT line_number, type, database, user_name, address, netmask, auth_method, error
  FROM pg_hba_file_rules ORDER BY line_number
"""

NON_SSL_SESSIONS = """
SELECT a.pid, a.usename, a.datname, a.client_addr::text AS client_addr
  FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
 WHERE a.client_addr IS NOT NULL AND NOT s.ssl AND a.backend_type = 'client backend'
"""

DATABASE = """
SELECT
  (SELECT coalesce(json_agg(f), '[]') FROM (
     SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS function,
            pg_get_userbyid(p.proowner) AS owner
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search\\_path=%%')
      ORDER BY 1 LIMIT 100) f) AS definer_without_search_path,
  (SELECT coalesce(bool_or(a.privilege_type = 'CREATE'), false)
     FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) a
    WHERE n.nspname = 'public' AND a.grantee = 0) AS public_create_on_public,
  (SELECT coalesce(json_agg(lanname ORDER BY lanname), '[]') FROM pg_language
    WHERE NOT lanpltrusted AND lanname NOT IN ('c', 'internal')) AS untrusted_languages,
  EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgaudit') AS has_pgaudit
"""
