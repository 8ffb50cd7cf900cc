#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: security_audit
short_description: Security checklist of a PostgreSQL cluster, grouped like the CIS benchmark, read-only
version_added: 0.1.0
description:
  - Read-only. Every transaction is READ ONLY; a fixed handful of catalog statements for the server
    and one per database.
  - Runs 45 checks with stable ids (C(sec.*)) in seven sections following the CIS PostgreSQL
    benchmark chapters - installation, file permissions, logging and auditing, access and
    authorization, connection and login, settings and TLS, replication. Each finding carries its
    C(section) and C(rationale); the runbook lists every check.
  - Checks pg_hba rules (trust, md5/password/ident over TCP, every-address rules, remote superusers,
    TCP without TLS), C(password_encryption) and leftover md5 hashes, C(listen_addresses), TLS
    settings and the certificate's expiry, live remote sessions without TLS, SECURITY DEFINER functions
    without a fixed search_path, untrusted languages, CREATE on schema public for PUBLIC in every
    database, data checksums, permissions of the data directory, configuration files, TLS key and log
    directory, logging settings, pgaudit, fsync, full_page_writes and archive_mode.
  - Works as a non-superuser member of C(pg_monitor); checks that need more (C(pg_authid),
    C(pg_hba_file_rules) when the file is not readable on the host, files when the module does not run
    on the database host) are returned as C(info) findings with C(assessed=false) rather than failing.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  databases:
    description: Databases checked per database; empty means every database that accepts connections.
    type: list
    elements: str
    default: []
  admin_roles:
    description:
      - Roles allowed to be LOGIN superusers besides the bootstrap superuser, such as the collection's
        own admin role (C(postgresql_admin_user), reachable only over the local socket by peer map).
    type: list
    elements: str
    default: []
  expiry_warning_days:
    description: Days before the certificate's expiry from which it is a warning.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: Nothing changes.
requirements:
  - cryptography on the managed host, to read the certificate's expiry (otherwise that check is not assessed)
seealso:
  - module: pgops.postgresql.role_audit
  - module: pgops.postgresql.report
'''

EXAMPLES = r'''
- name: Quarterly security audit
  pgops.postgresql.security_audit:
    login_unix_socket: /var/run/postgresql
    login_user: pgops_admin
    waivers:
      - id: sec.repl.archive_mode
        reason: Reporting replica, rebuilt from the primary (RISK-12)
        expires: "2027-06-30"
  register: audit
'''

RETURN = r'''
findings:
  description: Findings (id, severity, title, object, observed, expected, remediation, section, rationale, waived).
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
not_assessed:
  description: Ids of the checks that could not be assessed with the login's privileges or from where the module ran.
  returned: always
  type: list
  elements: str
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _security_facts, security
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, run_module
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import waiver_argument_spec


def run(params):
    pipeline = Pipeline(security.REGISTRY, params, 'pgops_security_audit', 60000)
    session = pipeline.connect()
    try:
        facts = _security_facts.collect(pipeline, session, params)
    finally:
        session.close()
    findings = security.evaluate(facts)
    return pipeline.finish(findings, not_assessed=sorted(f['id'] for f in findings if f.get('assessed') is False),
                           databases=sorted(facts['databases']))


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(databases=dict(type='list', elements='str', default=[]),
                admin_roles=dict(type='list', elements='str', default=[]),
                expiry_warning_days=dict(type='int', default=30))
    run_module(AnsibleModule(argument_spec=spec, supports_check_mode=True), run)


if __name__ == '__main__':
    main()
