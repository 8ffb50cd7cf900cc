# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The catalog statements of the schema documentation: one per object kind and database, whatever
the number of objects (10,000 tables cost the same round trips as ten).

Every statement reads the user's schemas only (not pg_catalog, information_schema, TOAST or
temporary schemas) and leaves out the members of extensions (they are documented by the extension).
Sizes come from pg_class.relpages (as of the last VACUUM, ANALYZE or index build), never from
pg_relation_size(), which takes a lock. ACLs are returned as text arrays (aclitem[]::text[]).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_USER_NS = """n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
   AND n.nspname !~ '^pg_toast_temp_'"""


def _not_extension_member(catalog, oid):
    return ("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '%s'::regclass AND e.objid = %s "
            "AND e.deptype = 'e')" % (catalog, oid))


SCHEMAS = """
SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, obj_description(n.oid, 'pg_namespace') AS comment,
       n.nspacl::text[] AS acl
  FROM pg_namespace n
 WHERE %s AND %s
 ORDER BY 1""" % (_USER_NS, _not_extension_member('pg_namespace', 'n.oid'))

# r table, p partitioned table, v view, m materialized view, f foreign table (sequences: SEQUENCES)
RELATIONS = """
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, pg_get_userbyid(c.relowner) AS owner,
       c.relpersistence AS persistence, ds.description AS comment,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END AS rows_estimate,
       CASE WHEN c.relpages >= 0 THEN c.relpages::int8 * current_setting('block_size')::int8 END AS bytes,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       c.relacl::text[] AS acl,
       pn.nspname AS partition_of_schema, pc.relname AS partition_of,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition,
       CASE WHEN c.relkind = 'm' THEN c.relispopulated END AS populated,
       s.seq_scan, s.idx_scan, s.n_live_tup, s.n_dead_tup,
       s.last_analyze::text AS last_analyze, s.last_autoanalyze::text AS last_autoanalyze,
       s.last_vacuum::text AS last_vacuum, s.last_autovacuum::text AS last_autovacuum
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = c.oid AND ds.objsubid = 0
  LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
  LEFT JOIN pg_class pc ON pc.oid = i.inhparent
  LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND %s AND %s
 ORDER BY 1, 2""" % (_USER_NS, _not_extension_member('pg_class', 'c.oid'))

COLUMNS = """
SELECT n.nspname AS schema, c.relname AS relation, a.attnum AS position, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname END AS collation,
       ds.description AS comment
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = a.attrelid AND ds.objsubid = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND %s AND %s
 ORDER BY 1, 2, 3""" % (_USER_NS, _not_extension_member('pg_class', 'c.oid'))

# p primary key, u unique, c check, x exclusion, f foreign key, t constraint trigger; a foreign key is
# supported by an index whose leading key columns are its columns, in any order
CONSTRAINTS = """
SELECT n.nspname AS schema, c.relname AS relation, k.conname AS name, k.contype AS type,
       pg_get_constraintdef(k.oid, true) AS definition, k.condeferrable AS deferrable, k.convalidated AS validated,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(num, ord)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.ord)::text[] AS columns,
       rn.nspname AS references_schema, r.relname AS references_table,
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(num, ord)
               JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.ord)::text[]
         AS references_columns,
       CASE k.confupdtype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                          WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END AS on_update,
       CASE k.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                          WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END AS on_delete,
       CASE WHEN k.contype = 'f' THEN EXISTS (
         SELECT 1 FROM pg_index x
          WHERE x.indrelid = k.conrelid AND x.indpred IS NULL
            AND (string_to_array(x.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] @> k.conkey
            AND (string_to_array(x.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] <@ k.conkey) END AS indexed,
       obj_description(k.oid, 'pg_constraint') AS comment
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class r ON r.oid = k.confrelid
  LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
 WHERE %s AND %s AND k.conparentid = 0
 ORDER BY 1, 2, 3""" % (_USER_NS, _not_extension_member('pg_class', 'c.oid'))

INDEXES = """
SELECT n.nspname AS schema, t.relname AS relation, c.relname AS name, am.amname AS method,
       x.indisunique AS is_unique, x.indisprimary AS is_primary, x.indisvalid AS valid,
       ARRAY(SELECT CASE WHEN u.attnum <> 0 THEN quote_ident(a.attname) ELSE pg_get_indexdef(x.indexrelid, u.k::int, true) END
               FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(attnum, k)
               LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum
              WHERE u.k <= x.indnkeyatts ORDER BY u.k)::text[] AS keys,
       ARRAY(SELECT quote_ident(a.attname)
               FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(attnum, k)
               JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum
              WHERE u.k > x.indnkeyatts ORDER BY u.k)::text[] AS include,
       pg_get_expr(x.indpred, x.indrelid, true) AS predicate, pg_get_indexdef(x.indexrelid) AS definition,
       CASE WHEN c.relpages >= 0 THEN c.relpages::int8 * current_setting('block_size')::int8 END AS bytes, s.idx_scan AS scans,
       ds.description AS comment,
       (SELECT pc.relname FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
         WHERE i.inhrelid = x.indexrelid) AS parent_index
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
  LEFT JOIN pg_description ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = c.oid AND ds.objsubid = 0
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_am am ON am.oid = c.relam
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
 WHERE %s AND %s
 ORDER BY 1, 2, 3""" % (_USER_NS, _not_extension_member('pg_class', 't.oid'))

FUNCTIONS = """
SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, p.prokind AS kind, l.lanname AS language,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END AS volatility,
       p.prosecdef AS security_definer,
       (SELECT substr(c, 13) FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%%' LIMIT 1) AS search_path,
       p.proconfig::text[] AS config, pg_get_userbyid(p.proowner) AS owner, p.proacl::text[] AS acl,
       obj_description(p.oid, 'pg_proc') AS comment
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
 WHERE %s AND %s
 ORDER BY 1, 2, 3""" % (_USER_NS, _not_extension_member('pg_proc', 'p.oid'))

TRIGGERS = """
SELECT n.nspname AS schema, c.relname AS relation, t.tgname AS name, pg_get_triggerdef(t.oid, true) AS definition,
       CASE t.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' ELSE 'origin' END
         AS enabled,
       pn.nspname || '.' || p.proname AS function, obj_description(t.oid, 'pg_trigger') AS comment
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
  JOIN pg_namespace pn ON pn.oid = p.pronamespace
 WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND %s AND %s
 ORDER BY 1, 2, 3""" % (_USER_NS, _not_extension_member('pg_class', 'c.oid'))

SEQUENCES = """
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
       s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max, s.seqcycle AS cycle,
       pg_get_userbyid(c.relowner) AS owner, c.relacl::text[] AS acl, obj_description(c.oid, 'pg_class') AS comment,
       (SELECT tn.nspname || '.' || tc.relname || '.' || a.attname
          FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
          JOIN pg_namespace tn ON tn.oid = tc.relnamespace
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
           AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE %s AND %s
 ORDER BY 1, 2""" % (_USER_NS, _not_extension_member('pg_class', 'c.oid'))

EXTENSIONS = """
SELECT x.extname AS name, x.extversion AS version, n.nspname AS schema,
       obj_description(x.oid, 'pg_extension') AS comment
  FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
 ORDER BY 1"""

POLICIES = """
SELECT schemaname AS schema, tablename AS relation, policyname AS name, permissive, roles::text[] AS roles, cmd AS command,
       qual AS using, with_check
  FROM pg_policies
 ORDER BY 1, 2, 3"""

# what each view and materialized view reads (through its rewrite rule), once per referenced relation
VIEW_READS = """
SELECT DISTINCT vn.nspname AS schema, v.relname AS relation, rn.nspname AS reads_schema, r.relname AS reads
  FROM pg_rewrite w
  JOIN pg_class v ON v.oid = w.ev_class AND v.relkind IN ('v', 'm')
  JOIN pg_namespace vn ON vn.oid = v.relnamespace
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass
  JOIN pg_class r ON r.oid = d.refobjid AND r.oid <> v.oid
  JOIN pg_namespace rn ON rn.oid = r.relnamespace
 WHERE vn.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2, 3, 4"""

STATEMENTS = (('schemas', SCHEMAS), ('relations', RELATIONS), ('columns', COLUMNS), ('constraints', CONSTRAINTS),
              ('indexes', INDEXES), ('functions', FUNCTIONS), ('triggers', TRIGGERS), ('sequences', SEQUENCES),
              ('extensions', EXTENSIONS), ('policies', POLICIES), ('view_reads', VIEW_READS))
