# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Catalog queries of the role audit: three for the cluster after the common probe, one per database."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# password_kind only where pg_authid is readable (superuser); otherwise NULL.
ROLES_AUTHID = """
SELECT oid::bigint AS oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
       rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil::text AS valid_until,
       CASE WHEN rolpassword IS NULL THEN 'none'
            WHEN rolpassword LIKE 'SCRAM-SHA-256$%%' THEN 'scram-sha-256'
            WHEN rolpassword LIKE 'md5%%' THEN 'md5'
            ELSE 'other' END AS password_kind
  FROM pg_authid ORDER BY rolname
"""

ROLES_PUBLIC = """
SELECT oid::bigint AS oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
       rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil::text AS valid_until,
       NULL::text AS password_kind
  FROM pg_roles ORDER BY rolname
"""

MEMBERS_16 = """
SELECT roleid::bigint AS role, member::bigint AS member, grantor::bigint AS grantor,
       admin_option, inherit_option, set_option
  FROM pg_auth_members
"""

# Before 16: SET ROLE works through any membership; inheritance is the member's rolinherit.
MEMBERS_OLD = """
SELECT m.roleid::bigint AS role, m.member::bigint AS member, m.grantor::bigint AS grantor,
       m.admin_option, r.rolinherit AS inherit_option, true AS set_option
  FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
"""

# What each role owns or holds privileges on, in every database (pg_shdepend is shared).
DEPENDENCIES = """
SELECT refobjid::bigint AS role,
       count(*) FILTER (WHERE deptype = 'o') AS owns,
       count(*) FILTER (WHERE deptype IN ('a', 'i', 'r')) AS privileges
  FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass
 GROUP BY refobjid
"""

# One statement per database. ACLs are exploded with aclexplode over the effective ACL
# (acldefault when the column is NULL), never parsed as text.
DATABASE = """
WITH user_ns AS (
  SELECT oid, nspname, nspowner, nspacl FROM pg_namespace
   WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp)'
), grants AS (
  SELECT 'schema' AS kind, n.nspname AS object, format('SCHEMA %%I', n.nspname) AS target,
         a.privilege_type, a.grantee
    FROM user_ns n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) a
  UNION ALL
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                        WHEN 'f' THEN 'foreign table' ELSE 'table' END,
         n.nspname || '.' || c.relname,
         format(CASE WHEN c.relkind = 'S' THEN 'SEQUENCE %%I.%%I' ELSE 'TABLE %%I.%%I' END, n.nspname, c.relname),
         a.privilege_type, a.grantee
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace,
         aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner))) a
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
     -- an extension's own objects (pg_stat_statements' view) carry the grants the extension ships
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                 AND d.deptype = 'e')
  UNION ALL
  SELECT CASE WHEN p.prosecdef THEN 'security definer function' ELSE 'function' END,
         n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
         format('FUNCTION %%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
         a.privilege_type, a.grantee
    FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace,
         aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
   WHERE (p.proacl IS NOT NULL OR p.prosecdef)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                                 AND d.deptype = 'e')
  UNION ALL
  SELECT 'language', l.lanname, format('LANGUAGE %%I', l.lanname), a.privilege_type, a.grantee
    FROM pg_language l, aclexplode(l.lanacl) a
   WHERE l.lanacl IS NOT NULL
)
SELECT
  (SELECT coalesce(json_agg(g ORDER BY g.kind, g.object, g.privilege_type), '[]') FROM (
     SELECT kind, object, target, privilege_type FROM grants WHERE grantee = 0
     ORDER BY kind, object, privilege_type LIMIT %(max_objects)s) g) AS public_grants,
  (SELECT coalesce(json_agg(d), '[]') FROM (
     SELECT pg_get_userbyid(da.defaclrole) AS owner, n.nspname AS schema,
            CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                  WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' END AS object_type,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type
       FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace,
            aclexplode(da.defaclacl) a
      WHERE a.grantee <> da.defaclrole
      ORDER BY 1, 2, 3, 4, 5 LIMIT %(max_objects)s) d) AS default_privileges,
  (SELECT coalesce(json_agg(o), '[]') FROM (
     SELECT r.rolname AS owner, x.kind, count(*) AS objects
       FROM (SELECT c.relowner AS owner, 'relations' AS kind FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             UNION ALL
             SELECT p.proowner, 'functions' FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
             UNION ALL
             SELECT nspowner, 'schemas' FROM user_ns) x
       JOIN pg_roles r ON r.oid = x.owner
      WHERE r.rolcanlogin
      GROUP BY 1, 2 ORDER BY 1, 2) o) AS owned_by_login
"""
