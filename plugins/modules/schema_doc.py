#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: schema_doc
short_description: Read the schema of each database as documentation facts (read-only)
version_added: 0.1.0
description:
  - Reads, per database, in eleven catalog statements whatever the number of objects - schemas; tables, partitioned
    tables (their partitions with their bounds and parent), views, materialized views (definition, populated or not)
    and foreign tables with owner, comment, row estimate, size, row-level security, ACL and scan counts; columns
    (type, default, nullability, identity, generated expression, collation, comment); constraints (primary, unique,
    check, exclusion, foreign keys with their actions and whether an index supports them); indexes (method, key
    columns and expressions, INCLUDE columns, predicate, uniqueness, validity, size, scans since the statistics
    reset); functions and procedures (signature, result, language, volatility, SECURITY DEFINER, search_path, ACL);
    triggers; sequences and the column that owns them; extensions; row-level security policies; and which relations
    each view and materialized view reads.
  - The members of extensions are left out (the extension is listed). Sizes come from C(pg_class.relpages), never from
    C(pg_relation_size()), which would wait for a lock.
  - Every session is read-only; the module writes nothing. It needs no privilege beyond connecting.
  - The lint reads those facts - tables without a primary key, foreign keys without a supporting index, SECURITY
    DEFINER functions without a search_path, materialized views never populated, columns named alike with different
    types across tables, and comment coverage per schema (RV(coverage); a finding under a level you set) - as
    findings with waivers, like every checking module.
  - This is the extraction and lint of the schema documentation; its renderings and history are built on
    RV(databases).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  checks:
    description:
      - The lint checks to run (all when empty).
      - "Known names: no_primary_key, fk_without_index, security_definer_search_path, matview_never_populated,
        column_type_mismatch, comment_coverage."
    type: list
    elements: str
    default: []
  skip_checks:
    description: Lint checks not to run.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - Limits of the lint checks.
      - "Names and defaults: comment_coverage_warning_pct 0 (info below this share of commented tables, views
        and columns in a schema (0: off; the share is always reported))."
    type: dict
    default: {}
  databases:
    description: Databases to read; every database that accepts connections (templates left out) when empty.
    type: list
    elements: str
    default: []
  exclude_databases:
    description: Databases to leave out.
    type: list
    elements: str
    default: [postgres]
  schemas:
    description: Schemas to keep; every user schema when empty. A name that no database read has is refused.
    type: list
    elements: str
    default: []
  dest:
    description:
      - A file on the managed host to write the facts to (JSON, gzip-compressed when the name ends in C(.gz)), for
        M(pgops.postgresql.schema_site) to render after a fetch. RV(databases) is then not returned (10,000 tables
        are about 27 MB of JSON; compressed, about a tenth).
      - The file is replaced only when the facts differ from those it holds (the time of the read aside); its
        directory must exist. Only the file is written, never the server.
    type: path
  mode:
    description: Mode of O(dest) (the facts show definitions and privileges).
    type: raw
    default: '0600'
attributes:
  check_mode:
    support: full
    description: The module only reads; in check mode O(dest) is not written, C(changed) says whether it would be.
  diff_mode:
    support: none
    description: Nothing is changed.
seealso:
  - module: pgops.postgresql.index_review
'''

EXAMPLES = r'''
- name: Read the schema of the application's database
  pgops.postgresql.schema_doc:
    databases: [shop]
    login_user: pgops_admin
    login_password: "{{ vault_pgops_admin_password }}"
  register: schema

- name: Read every database and keep the facts in a file for the documentation site
  pgops.postgresql.schema_doc:
    dest: /var/tmp/pgops-schema.json.gz
  register: schema_facts
'''

RETURN = r'''
databases:
  description:
    - Not returned when O(dest) is given.
    - Per database, lists of schemas, relations, columns, constraints, indexes, functions, triggers, sequences,
      extensions, policies and view_reads, each ordered by schema and name.
    - "Relation kinds: r table, p partitioned table, v view, m materialized view, f foreign table. Constraint
      types: p primary key, u unique, c check, x exclusion, f foreign key, t constraint trigger."
  returned: success and O(dest) not given
  type: dict
  sample: {shop: {relations: [{schema: sales, name: orders, kind: p, partition_key: RANGE (ordered_on)}]}}
findings:
  description: The lint findings (id, severity, title, object, observed, expected, remediation), an C(ok) one per clean check.
  returned: success
  type: list
  elements: dict
summary:
  description: Findings by severity.
  returned: success
  type: dict
coverage:
  description: Per database and schema, tables, views and columns with a comment (C(commented), C(objects), C(pct)).
  returned: success
  type: dict
counts:
  description: Per database, how many objects of each kind were read.
  returned: success
  type: dict
dest:
  description: The facts file, its size in bytes and when the facts were read (C(path), C(bytes), C(taken_at)).
  returned: O(dest) given
  type: dict
queries:
  description: The statements run, in order.
  returned: always
  type: list
  elements: str
round_trips:
  description: How many statements were run (one to list the databases, eleven per database).
  returned: always
  type: int
'''

import gzip
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _files, _schema_snapshot, _sql_schema, _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import schema
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import (
    Pipeline, run_module, selection_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec

SCHEMA_KEYED = ('schemas',)


def collect(session, schemas):
    out = {}
    for kind, statement in _sql_schema.STATEMENTS:
        rows = session.fetch_all(statement)
        if schemas and kind != 'extensions':
            key = 'name' if kind in SCHEMA_KEYED else 'schema'
            rows = [r for r in rows if r[key] in schemas]
        out[kind] = rows
    return out


def write_facts(module, path, found, mode):
    """Replace the facts file unless it holds the same facts; (changed, taken_at, bytes)."""
    old = _schema_snapshot.read_json(path)
    if old and old.get('databases') == json.loads(json.dumps(found, default=str)):
        return False, old.get('taken_at'), os.path.getsize(path)
    taken_at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    text = json.dumps({'format': 1, 'taken_at': taken_at, 'databases': found}, sort_keys=True, default=str)
    data = gzip.compress(text.encode(), mtime=0) if path.endswith('.gz') else text.encode()
    if not module.check_mode:
        _files.write_atomic(module, path, data, mode=mode)
    return True, taken_at, len(data)


def run(module, p):
    for param in ('databases', 'exclude_databases', 'schemas'):
        for value in p[param]:
            _validate.one_line(value, param)
    if p['dest'] is not None:
        _validate.absolute_path(p['dest'], 'dest')
        if not os.path.isdir(os.path.dirname(p['dest'])):
            raise ParameterError('dest', 'the directory of %s does not exist' % p['dest'],
                                 'create it first, or name a file in an existing directory')
    pipeline = Pipeline(schema.REGISTRY, p, 'pgops_schema_doc')
    session = pipeline.connect()
    try:
        names = pipeline.databases(session, p['databases'], [] if p['databases'] else p['exclude_databases'])
        found = pipeline.per_database(session, names, lambda s: collect(s, set(p['schemas'])))
    finally:
        session.close()
    seen = set(s['name'] for facts in found.values() for s in facts['schemas'])
    missing = sorted(set(p['schemas']) - seen)
    if missing:
        raise ParameterError('schemas', 'no database read has the schema(s) %s' % ', '.join(missing),
                             'name schemas of %s, or leave schemas empty for all' % ', '.join(sorted(found)))
    findings = pipeline.registry.evaluate({'databases': found}, pipeline.thresholds, pipeline.selected)
    counts = dict((db, dict((kind, len(rows)) for kind, rows in facts.items())) for db, facts in found.items())
    extra = dict(counts=counts, coverage=dict((db, schema.coverage(facts)) for db, facts in found.items()))
    if p['dest'] is None:
        return pipeline.finish(findings, databases=found, **extra)
    changed, taken_at, size = write_facts(module, p['dest'], found, p['mode'])
    result = pipeline.finish(findings, dest=dict(path=p['dest'], bytes=size, taken_at=taken_at), **extra)
    result['changed'] = changed
    return result


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(selection_argument_spec(cadence=False))
    spec.update(databases=dict(type='list', elements='str', default=[]),
                exclude_databases=dict(type='list', elements='str', default=['postgres']),
                schemas=dict(type='list', elements='str', default=[]),
                dest=dict(type='path'), mode=dict(type='raw', default='0600'))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    run_module(module, lambda p: run(module, p))


if __name__ == '__main__':
    main()
