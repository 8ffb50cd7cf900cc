#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: role_audit
short_description: Access review of a PostgreSQL cluster - roles, memberships, escalation paths, PUBLIC grants
version_added: 0.1.0
description:
  - Read-only. Every transaction is READ ONLY; four catalog statements for the cluster and one per
    database, whatever the number of roles, grants or objects.
  - Inventories every role (superuser, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, LOGIN, connection
    limit, password expiry, password hash kind where C(pg_authid) is readable) and the membership
    graph with ADMIN, INHERIT and SET options (PostgreSQL 16+), or the member's rolinherit before 16.
  - "Finds privilege escalation paths: a LOGIN role that can reach a superuser, a REPLICATION or
    BYPASSRLS role, or a server-file predefined role through memberships it can SET ROLE along (or
    grant itself through ADMIN OPTION; before 16 also through CREATEROLE), with the chain shown."
  - Reports members of risky predefined roles, grants to PUBLIC in every database (from
    C(aclexplode) over the effective ACL, never ACL text), default privileges, objects owned by
    LOGIN roles, roles that can be dropped, and login roles not seen in a connection log window.
  - With O(expected), drift from a role specification becomes findings (unexpected, missing,
    attribute and membership drift).
  - Finding ids are C(role.*); each finding carries a C(section) (privileges, passwords, grants,
    hygiene, drift) so reports can score each section.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  databases:
    description: Databases whose grants are audited; empty means every database that accepts connections.
    type: list
    elements: str
    default: []
  expected:
    description:
      - The intended roles. Each item has C(name), optional C(attributes) (superuser, login, createrole,
        createdb, replication, bypassrls, inherit as booleans, connection_limit as a number) and
        C(member_of) (list of role names). Predefined C(pg_*) roles and the bootstrap superuser are
        never "unexpected".
      - Unset means no drift checks.
    type: list
    elements: dict
  connection_log:
    description:
      - Server log files on the host (shell patterns allowed) to read C(connection authorized) lines
        from (C(log_connections=on)). Login roles that do not appear are reported as not seen.
    type: list
    elements: path
  admin_roles:
    description:
      - Roles allowed to be LOGIN superusers besides the bootstrap superuser, such as the collection's
        own admin role (C(postgresql_admin_user), reachable only over the local socket by peer map).
    type: list
    elements: str
    default: []
  max_objects_per_check:
    description: Most PUBLIC grants and default privileges reported per database.
    type: int
    default: 200
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgops.postgresql.security_audit
  - module: pgops.postgresql.report
'''

EXAMPLES = r'''
- name: Quarterly access review with the intended roles
  pgops.postgresql.role_audit:
    login_unix_socket: /var/run/postgresql
    login_user: pgops_admin
    connection_log:
      - /var/lib/postgresql/15/main/log/postgresql-*.log
    expected:
      - name: app_owner
        attributes: {login: false}
      - name: app
        attributes: {login: true, superuser: false, createrole: false}
        member_of: [app_owner]
    waivers:
      - id: role.owned_by_login
        object: "legacy: *"
        reason: Legacy schema moves to app_owner in Q3 (CHG-4410)
        expires: "2027-09-30"
  register: access
'''

RETURN = r'''
findings:
  description: Findings (id, severity, title, object, observed, expected, remediation, section, waived), worst first.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
roles:
  description: The role inventory with attributes, password hash kind and memberships (with admin/inherit/set).
  returned: always
  type: list
  elements: dict
escalation_paths:
  description: Every chain from a login role to a powerful role.
  returned: always
  type: list
  elements: dict
  sample: [{role: alice, target: dba, kind: superuser, chain: [alice, ops, dba]}]
queries:
  description: SQL statements run.
  returned: always
  type: list
  elements: str
round_trips:
  description: Number of statements.
  returned: always
  type: int
'''

import glob

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import roles as audit
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec


def read_log(patterns):
    lines = []
    for pattern in patterns:
        paths = sorted(glob.glob(pattern))
        if not paths:
            raise ParameterError('connection_log', 'no file matches %s' % pattern,
                                 'point it at the server log files (log_connections must be on)')
        for path in paths:
            with open(path, errors='replace') as fh:
                lines.extend(line for line in fh if 'connection authorized' in line)
    return lines


def run(params):
    _validate.at_least(params, 'max_objects_per_check')
    pipeline = Pipeline(audit.REGISTRY, params, 'pgops_role_audit', 60000)
    expected = audit.validate_expected(params['expected']) if params['expected'] is not None else None
    seen = audit.logins_seen(read_log(params['connection_log'])) if params['connection_log'] else None
    session = pipeline.connect()
    try:
        priv = pipeline.probe(session, 'catalogs the audit needs', ('can_monitor', 'can_read_authid'),
                              'assess password hashes too')
        facts = audit.collect_cluster(session, priv)
        facts['version_num'] = priv['version_num']
        facts['databases'] = pipeline.per_database(
            session, pipeline.databases(session, params['databases']),
            lambda s: audit.collect_database(s, params['max_objects_per_check']))
    finally:
        session.close()
    paths = audit.escalation_paths(facts)
    findings = audit.evaluate(facts, priv['bootstrap_superuser'], expected, seen, admin_roles=params['admin_roles'],
                              paths=paths)
    return pipeline.finish(findings, checked=audit.applicable(expected, seen), roles=audit.inventory(facts),
                           escalation_paths=paths, databases=sorted(facts['databases']))


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(
        databases=dict(type='list', elements='str', default=[]),
        expected=dict(type='list', elements='dict'),
        connection_log=dict(type='list', elements='path'),
        max_objects_per_check=dict(type='int', default=200),
        admin_roles=dict(type='list', elements='str', default=[]),
    )
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
