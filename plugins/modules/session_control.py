#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: session_control
short_description: Cancel the query of, or terminate, the client sessions that match filters
version_added: 0.2.0
description:
  - Reads C(pg_stat_activity) once, keeps the client sessions that match B(every) filter given, and cancels their
    running statement (O(action=cancel), C(pg_cancel_backend)) or ends them (O(action=terminate),
    C(pg_terminate_backend), waiting up to O(wait_seconds) for them to go on PostgreSQL 14 and later).
  - At least one filter is required, so the module never acts on every session by default. It never touches its own
    session, replication connections, autovacuum or other background processes.
  - "Named protections: more sessions matching than O(max_sessions) is refused (raise it when you mean it), and
    sessions of superusers are left alone unless O(include_superusers=true)."
  - Check mode lists the sessions it would act on; the real run acts on the same list and says which went.
    Running it again finds none, so it reports C(changed=false).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  action:
    description: V(cancel) stops the running statement and keeps the session, V(terminate) ends the session
      (its open transaction is rolled back).
    type: str
    choices: [cancel, terminate]
    default: terminate
  pids:
    description: Only these process ids.
    type: list
    elements: int
  states:
    description: Only sessions in these states.
    type: list
    elements: str
    choices: [active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled]
  min_state_seconds:
    description: Only sessions that have been in their state at least this long.
    type: int
  min_transaction_seconds:
    description: Only sessions whose transaction has been open at least this long.
    type: int
  users:
    description: Only sessions of these roles.
    type: list
    elements: str
  databases:
    description: Only sessions in these databases.
    type: list
    elements: str
  applications:
    description: Only sessions with these C(application_name)s.
    type: list
    elements: str
  max_sessions:
    description: Refuse to act when more sessions than this match (a filter wider than meant).
    type: int
    default: 10
  include_superusers:
    description: Act on sessions of superusers too.
    type: bool
    default: false
  wait_seconds:
    description: How long C(terminate) waits for each session to go (PostgreSQL 14 and later).
    type: int
    default: 5
attributes:
  check_mode:
    support: full
    description: Lists the sessions it would act on.
  diff_mode:
    support: full
    description: The matching sessions before, and those left after.
seealso:
  - module: pgops.postgresql.health_check
  - module: pgops.postgresql.settings
'''

EXAMPLES = r'''
- name: End the sessions idle in a transaction for more than ten minutes
  pgops.postgresql.session_control:
    action: terminate
    states: [idle in transaction, idle in transaction (aborted)]
    min_state_seconds: 600

- name: Cancel the reporting queries running longer than an hour, keep their sessions
  pgops.postgresql.session_control:
    action: cancel
    states: [active]
    applications: [reporting]
    min_state_seconds: 3600
'''

RETURN = r'''
sessions:
  description: The sessions that matched (pid, user, database, application, client, state, state and transaction
    ages in seconds, the first 200 characters of the query).
  returned: success
  type: list
  elements: dict
acted:
  description: The pids cancelled or terminated (empty in check mode).
  returned: success
  type: list
  elements: int
protected:
  description: The pids of superuser sessions that matched and were left alone (O(include_superusers)).
  returned: success
  type: list
  elements: int
msg:
  description: What was done, or would be in check mode.
  returned: success
  type: str
still_there:
  description: After O(action=terminate), the pids still present when the wait ended.
  returned: success
  type: list
  elements: int
queries:
  description: The statements run.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connect, connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError

SESSIONS = """
SELECT a.pid, a.usename, a.datname, a.application_name, a.client_addr::text AS client_addr, a.state,
       COALESCE(extract(epoch FROM now() - a.state_change), 0)::float8 AS state_age_s,
       COALESCE(extract(epoch FROM now() - a.xact_start), 0)::float8 AS xact_age_s,
       left(a.query, 200) AS query, COALESCE(r.rolsuper, false) AS superuser
  FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
 WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
 ORDER BY a.pid"""
CANCEL = 'SELECT pid, pg_cancel_backend(pid) AS done FROM unnest(%s::int[]) AS pid'
TERMINATE = 'SELECT pid, pg_terminate_backend(pid) AS done FROM unnest(%s::int[]) AS pid'
TERMINATE_WAIT = 'SELECT pid, pg_terminate_backend(pid, %s) AS done FROM unnest(%s::int[]) AS pid'
PRESENT = 'SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s::int[])'
DONE = {'cancel': 'cancelled', 'terminate': 'terminated'}
FILTERS = ('pids', 'states', 'min_state_seconds', 'min_transaction_seconds', 'users', 'databases', 'applications')


def matches(row, p):
    """Whether a session passes every filter given."""
    return ((p['pids'] is None or row['pid'] in p['pids'])
            and (p['states'] is None or row['state'] in p['states'])
            and (p['min_state_seconds'] is None or row['state_age_s'] >= p['min_state_seconds'])
            and (p['min_transaction_seconds'] is None or row['xact_age_s'] >= p['min_transaction_seconds'])
            and (p['users'] is None or row['usename'] in p['users'])
            and (p['databases'] is None or row['datname'] in p['databases'])
            and (p['applications'] is None or row['application_name'] in p['applications']))


def validate(p):
    if all(p[name] in (None, []) for name in FILTERS):
        raise ParameterError('pids', 'no filter is given', 'give at least one of %s: the module never acts on every '
                             'session' % ', '.join(FILTERS))
    for name in ('min_state_seconds', 'min_transaction_seconds', 'max_sessions', 'wait_seconds'):
        if p[name] is not None and p[name] < (1 if name == 'max_sessions' else 0):
            raise ParameterError(name, 'is %s' % p[name], 'give %s' % ('1 or more' if name == 'max_sessions' else
                                                                       '0 or more'))
    for name in ('pids', 'states', 'users', 'databases', 'applications'):
        if p[name] == []:
            raise ParameterError(name, 'is an empty list', 'leave it out, or name at least one')


def run(module):
    p = module.params
    validate(p)
    queries = []
    session = connect(p, application_name='pgops_session_control', queries=queries)
    session.conn.autocommit = True
    try:
        rows = session.fetch_all(SESSIONS)
        found = [r for r in rows if matches(r, p)]
        protected = [r for r in found if r['superuser'] and not p['include_superusers']]
        chosen = [r for r in found if r not in protected]
        if len(chosen) > p['max_sessions']:
            raise PgopsError('%d sessions match, more than max_sessions %d (pids %s). Fix: narrow the filters, or raise '
                             'max_sessions if you mean all of them' % (len(chosen), p['max_sessions'],
                                                                       ', '.join(str(r['pid']) for r in chosen[:20])))
        pids = [r['pid'] for r in chosen]
        acted, still = [], []
        if pids and not module.check_mode:
            if p['action'] == 'cancel':
                done = session.fetch_all(CANCEL, (pids,))
            elif session.conn.server_version >= 140000:  # pg_terminate_backend(pid, timeout)
                done = session.fetch_all(TERMINATE_WAIT, (p['wait_seconds'] * 1000, pids))
            else:
                done = session.fetch_all(TERMINATE, (pids,))
            acted = [r['pid'] for r in done if r['done']]
            if p['action'] == 'terminate':
                still = [r['pid'] for r in session.fetch_all(PRESENT, (pids,))]
    finally:
        session.close()
    result = dict(changed=bool(pids), sessions=chosen, acted=acted, still_there=still, queries=queries,
                  protected=[r['pid'] for r in protected])
    if pids:
        verb = 'would %s' % p['action'] if module.check_mode else DONE[p['action']]
        result['msg'] = '%s %d session(s): %s%s' % (verb, len(pids), ', '.join(str(x) for x in pids),
                                                    '; still there after the wait: %s' % still if still else '')
    else:
        left = '; %d superuser session(s) left alone (include_superusers)' % len(protected) if protected else ''
        result['msg'] = 'no session matches' + left
    if module._diff:
        result['diff'] = {'before': '\n'.join('%(pid)s %(usename)s@%(datname)s %(state)s' % r for r in chosen) + '\n',
                          'after': '' if p['action'] == 'terminate' else
                          '\n'.join('%(pid)s %(usename)s@%(datname)s (statement cancelled)' % r for r in chosen) + '\n'}
    return result


def main():
    spec = connection_argument_spec()
    spec.update(action=dict(type='str', choices=['cancel', 'terminate'], default='terminate'),
                pids=dict(type='list', elements='int'),
                states=dict(type='list', elements='str', choices=['active', 'idle', 'idle in transaction',
                                                                  'idle in transaction (aborted)',
                                                                  'fastpath function call', 'disabled']),
                min_state_seconds=dict(type='int'), min_transaction_seconds=dict(type='int'),
                users=dict(type='list', elements='str'), databases=dict(type='list', elements='str'),
                applications=dict(type='list', elements='str'), max_sessions=dict(type='int', default=10),
                include_superusers=dict(type='bool', default=False), wait_seconds=dict(type='int', default=5))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
