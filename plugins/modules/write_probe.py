#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: write_probe
short_description: Measure RPO and write unavailability with a writer that logs acknowledged commits
version_added: 0.1.0
description:
  - V(started) creates the probe table on the node that accepts writes and starts a detached writer that
    commits one numbered row every O(interval_ms) to whichever of O(hosts) accepts writes
    (C(target_session_attrs=read-write)), reconnecting after every error, and logs each acknowledged commit.
  - V(stopped) stops the writer and compares its log with the rows the current primary holds - the commits
    acknowledged but missing are the RPO in transactions; the longest gap between two acknowledgements is the
    write unavailability (RTO as a client sees it).
  - Run it on the host that will run the failover or the drill; it writes to the server by design (use a
    dedicated database on production clusters).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  state:
    description: Start the writer, or stop it and report.
    type: str
    choices: [started, stopped]
    required: true
  name:
    description: Name of this probe run (its files and its rows).
    type: str
    default: pgops
  hosts:
    description: Every node of the cluster as C(host) and C(port); the writer follows the one that accepts writes.
    type: list
    elements: dict
    required: true
  table:
    description: Table of the probe rows (created when missing).
    type: str
    default: pgops_write_probe
  interval_ms:
    description: Milliseconds between two commits.
    type: int
    default: 20
  state_dir:
    description: Directory for the writer's pid file and acknowledgement log.
    type: path
    default: /var/tmp/pgops
  expect_until:
    description: For V(stopped) - only commits acknowledged up to this time (epoch seconds) must survive, as after a PITR.
    type: float
  timeout:
    description: Seconds V(stopped) waits for a node that accepts writes, to count the surviving rows.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    description: Says whether the writer would start or stop; starts or stops nothing.
  diff_mode:
    support: none
    description: Nothing on disk is configured.
seealso:
  - module: pgops.postgresql.failover
'''

EXAMPLES = r'''
- name: Start the writer before the drill
  pgops.postgresql.write_probe:
    state: started
    name: drill
    hosts: [{host: 10.0.0.1, port: 5432}, {host: 10.0.0.2, port: 5432}]
    login_user: pgops_admin
    login_password: "{{ vault_pgops_admin_password }}"
    login_db: pgops_drill

- name: Stop it and count what was lost
  pgops.postgresql.write_probe:
    state: stopped
    name: drill
    hosts: [{host: 10.0.0.1, port: 5432}, {host: 10.0.0.2, port: 5432}]
    login_user: pgops_admin
    login_password: "{{ vault_pgops_admin_password }}"
    login_db: pgops_drill
  register: probe
'''

RETURN = r'''
pid:
  description: The writer's process id.
  returned: when started
  type: int
acknowledged:
  description: Commits the server acknowledged.
  returned: when stopped
  type: int
lost:
  description: Acknowledged commits (up to O(expect_until)) that the primary does not hold - the RPO in transactions.
  returned: when stopped
  type: int
lost_seqs:
  description: Up to 50 of their sequence numbers.
  returned: when stopped
  type: list
  elements: int
rpo_seconds:
  description: From the last surviving to the last lost acknowledgement (0 when nothing was lost).
  returned: when stopped
  type: float
max_unavailable_seconds:
  description: Longest time between two acknowledged commits.
  returned: when stopped
  type: float
unavailable_window:
  description: Epoch seconds of the two acknowledgements around that gap.
  returned: when stopped
  type: list
  elements: float
errors:
  description: Number of failed attempts (connection refused, read-only server, terminated session).
  returned: when stopped
  type: int
first_errors:
  description: The first five error messages the writer logged.
  returned: when stopped
  type: list
  elements: str
log:
  description: The writer's acknowledgement log (one C(seq epoch) line per acknowledged commit).
  returned: always
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _probe
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    Session, conn_kwargs, connection_argument_spec, require_psycopg2)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import read_text
from ansible_collections.pgops.postgresql.plugins.module_utils._service import pid_alive
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import compose, identifier
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import wait_until


def writable_params(p):
    hosts = p['hosts']
    for i, h in enumerate(hosts):
        if not isinstance(h, dict) or 'port' not in h:
            raise ParameterError('hosts', 'item %d is %r' % (i, h), 'give each node as {host: ..., port: ...}')
    return dict(p, login_host=','.join(str(h.get('host') or '') for h in hosts),
                login_port=None, login_unix_socket='')


def connect_kwargs(p):
    kw = conn_kwargs(writable_params(p), application_name='pgops_write_probe')
    kw['port'] = ','.join(str(h['port']) for h in p['hosts'])
    kw['target_session_attrs'] = 'read-write'
    kw['connect_timeout'] = 2
    return kw


def open_writable(p):
    import psycopg2
    try:
        conn = psycopg2.connect(**connect_kwargs(p))
    except psycopg2.Error as exc:
        raise PgopsError('no node of hosts accepts writes: %s' % str(exc).strip().splitlines()[0])
    conn.autocommit = True
    return conn


def main():
    spec = connection_argument_spec()
    spec.update(state=dict(type='str', required=True, choices=['started', 'stopped']),
                name=dict(type='str', default='pgops'), hosts=dict(type='list', elements='dict', required=True),
                table=dict(type='str', default='pgops_write_probe'), interval_ms=dict(type='int', default=20),
                state_dir=dict(type='path', default='/var/tmp/pgops'), expect_until=dict(type='float'),
                timeout=dict(type='int', default=60))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    base = os.path.join(p['state_dir'], 'write_probe-%s' % p['name'])
    pid_path, log_path, stop_path = base + '.pid', base + '.log', base + '.stop'
    table = identifier(p['table'])
    try:
        require_psycopg2()
        if p['interval_ms'] < 1:
            raise ParameterError('interval_ms', 'must be at least 1', 'give milliseconds between commits')
        if not p['hosts']:
            raise ParameterError('hosts', 'is empty', 'list every node as {host: ..., port: ...}')
        # the name is part of the pid, log and stop file names
        _validate.name(p['name'], 'name', 'probe name')
        _validate.absolute_path(p['state_dir'], 'state_dir')
        _validate.at_least(p, 'timeout')
        pid = _probe.read_pid(pid_path)
        running = pid is not None and pid_alive(pid)
        if p['state'] == 'started':
            if running or module.check_mode:
                module.exit_json(changed=not running, pid=pid if running else None, log=log_path)
            if not os.path.isdir(p['state_dir']):
                os.makedirs(p['state_dir'], 0o700)
            conn = open_writable(p)
            try:
                conn.cursor().execute(compose(_probe.TABLE_DDL, table=table))
                conn.cursor().execute(compose('DELETE FROM {table} WHERE run_id = %s', table=table), (p['name'],))
            finally:
                conn.close()
            for path in (log_path, stop_path):
                if os.path.exists(path):
                    os.unlink(path)
            insert = compose(_probe.INSERT, table=table)

            def run():
                _probe.write_loop(lambda: open_writable(p),
                                  lambda c, seq: c.cursor().execute(insert, (p['name'], seq)),
                                  log_path, p['interval_ms'] / 1000.0, stop_path)
            pid = _probe.daemonize(run, pid_path)
            wait_until(lambda: read_text(log_path), 10, 'the first commit of the write probe')
            module.exit_json(changed=True, pid=pid, log=log_path)
        if not running and not os.path.exists(log_path):
            module.exit_json(changed=False, msg='no probe named %s ran' % p['name'])
        if module.check_mode:
            module.exit_json(changed=running, pid=pid)
        if running:
            open(stop_path, 'w').close()
            try:
                wait_until(lambda: not pid_alive(pid), 5, 'the writer stopping', 0.05)
            except ToolError:
                os.kill(pid, 9)
        acks, errors = _probe.parse_log(read_text(log_path))
        session = wait_until(lambda: Session(open_writable(p), p['login_db'], []), p['timeout'],
                             'a node that accepts writes', 0.2)
        try:
            rows = session.fetch_all(compose(_probe.SURVIVORS, table=table), (p['name'],))
        finally:
            session.close()
        result = _probe.analyze(acks, [r['seq'] for r in rows], p['expect_until'])
        result.update(changed=running, errors=len(errors), first_errors=[e[1] for e in errors[:5]], log=log_path)
        for path in (pid_path, stop_path):
            if os.path.exists(path):
                os.unlink(path)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
