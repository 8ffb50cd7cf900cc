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

import ipaddress
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _tls
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_security as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import security
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    ACCEPTING_DATABASES, connect, connection_argument_spec, per_database, require_psycopg2, select_databases)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, parse_waivers, sort_findings, summarize, waiver_argument_spec)


def _hba_from_view(rows):
    rules = []
    for r in rows:
        if r['error']:
            continue
        address = r['address']
        if address and r['netmask']:
            try:
                address = str(ipaddress.ip_network('%s/%s' % (address, r['netmask']), strict=False))
            except ValueError:
                pass
        rules.append({'line': r['line_number'], 'type': r['type'], 'databases': r['database'] or [],
                      'users': r['user_name'] or [], 'address': address, 'method': r['auth_method']})
    return rules


def _abs(data_dir, path):
    if not path:
        return None
    return path if os.path.isabs(path) else os.path.join(data_dir, path)


def host_facts(settings):
    data_dir = settings.get('data_directory')
    if not data_dir or not os.path.isdir(data_dir):
        return None, None, None
    files = security.file_facts({
        'data_directory': data_dir, 'config_file': settings.get('config_file'), 'hba_file': settings.get('hba_file'),
        'ident_file': settings.get('ident_file'), 'ssl_key_file': _abs(data_dir, settings.get('ssl_key_file')),
        'log_directory': _abs(data_dir, settings.get('log_directory'))})
    hba = None
    try:
        with open(settings['hba_file']) as fh:
            hba = security.parse_hba_text(fh.read())
    except (IOError, OSError, KeyError, TypeError):
        pass
    cert = None
    cert_path = _abs(data_dir, settings.get('ssl_cert_file'))
    if cert_path and _tls.HAS_CRYPTOGRAPHY:
        try:
            with open(cert_path, 'rb') as fh:
                cert = _tls.describe(_tls.load_certificate(fh.read(), 'ssl_cert_file'))
        except (IOError, OSError, PgopsError):
            cert = None
    return files, hba, cert


def collect(params, queries):
    opts = dict(readonly=True, application_name='pgops_security_audit', statement_timeout_ms=60000, queries=queries)
    session = connect(params, **opts)
    try:
        priv = session.fetch_one(q.PROBE, {})
        if not (priv['can_monitor'] or priv['is_superuser']):
            raise PgopsError("login_user %s can not read the settings and views the audit needs. Fix: GRANT pg_monitor "
                             "TO %s (or log in as a superuser to assess every check)" % (
                                 priv['login_user'], priv['login_user']))
        settings = dict((r['name'], r['setting']) for r in session.fetch_all(q.SETTINGS, {}))
        facts = {'version_num': priv['version_num'], 'bootstrap': priv['bootstrap_superuser'], 'settings': settings,
                 'roles': session.fetch_all(q.ROLES, {}),
                 'md5_roles': [r['rolname'] for r in session.fetch_all(q.MD5_HASHES, {})]
                 if priv['can_read_authid'] else None,
                 'non_ssl_sessions': session.fetch_all(q.NON_SSL_SESSIONS, {}), 'databases': {}}
        hba_rows = session.fetch_all(q.HBA_RULES, {}) if priv['is_superuser'] else None
        dbs = select_databases([r['datname'] for r in session.fetch_all(ACCEPTING_DATABASES, {})],
                               params['databases'])
        facts['databases'] = per_database(params, session, dbs, lambda s: s.fetch_one(q.DATABASE, {}), **opts)
    finally:
        session.close()
    files, hba_file, cert = host_facts(settings)
    facts.update(files=files, certificate=cert, expiry_warning_days=params['expiry_warning_days'],
                 admin_roles=params['admin_roles'],
                 hba=_hba_from_view(hba_rows) if hba_rows is not None else hba_file)
    return facts


def run(params):
    started = time.time()
    waivers = parse_waivers(params['waivers'], known_ids=security.CHECK_IDS)
    require_psycopg2()
    queries = []
    facts = collect(params, queries)
    findings = sort_findings(apply_waivers(security.evaluate(facts), waivers))
    return dict(changed=False, findings=findings, summary=summarize(findings),
                not_assessed=sorted(f['id'] for f in findings if f.get('assessed') is False),
                databases=sorted(facts['databases']), queries=queries, round_trips=len(queries),
                duration_ms=int((time.time() - started) * 1000))


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(databases=dict(type='list', elements='str', default=[]),
                admin_roles=dict(type='list', elements='str', default=[]),
                expiry_warning_days=dict(type='int', default=30))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module.params)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
