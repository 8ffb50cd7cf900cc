#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: replication_slot
short_description: Create or drop a physical replication slot
version_added: 0.2.0
description:
  - O(state=present) creates a physical slot (reserving WAL from now on when O(reserve_wal)); O(state=absent) drops
    one, which releases the WAL it holds back.
  - "Named protection: a slot a consumer is streaming through (C(active)) is not dropped unless
    O(drop_active=true): its standby would stop replicating. A logical slot is never dropped here."
  - The standby module creates the slots of the standbys it builds; this module is for the slots left by a standby
    that is gone (the daily check's C(health.replication_slots)) and for slots made by hand.
  - Check mode says what it would do; the second run changes nothing.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  name:
    description: The slot name (lower-case letters, digits and underscores, up to 63 characters).
    type: str
    required: true
  state:
    description: Whether the slot exists.
    type: str
    choices: [present, absent]
    default: present
  reserve_wal:
    description: With O(state=present), reserve WAL at once instead of when a consumer first connects.
    type: bool
    default: true
  drop_active:
    description: With O(state=absent), drop the slot even while a consumer streams through it; its walsender is
      ended first (pg_terminate_backend), then the slot is dropped. A consumer that reconnects at once makes the
      module fail with nothing dropped.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Says what it would do.
  diff_mode:
    support: full
    description: The slot before and after.
seealso:
  - module: pgops.postgresql.standby
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Drop the slot of the standby that was decommissioned
  pgops.postgresql.replication_slot:
    name: db3
    state: absent
'''

RETURN = r'''
slot:
  description: The slot before the change (C(slot_type), C(active), C(restart_lsn), C(retained_bytes)), or null.
  returned: success
  type: dict
msg:
  description: What was done, or would be in check mode.
  returned: success
  type: str
queries:
  description: The statements run.
  returned: always
  type: list
  elements: str
'''

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connect, connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError

SLOT = """
SELECT slot_name, slot_type, active, active_pid, restart_lsn::text AS restart_lsn,
       CASE WHEN restart_lsn IS NULL THEN NULL
            ELSE pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                                      ELSE pg_current_wal_lsn() END, restart_lsn)::bigint END AS retained_bytes
  FROM pg_replication_slots WHERE slot_name = %s"""
CREATE = 'SELECT pg_create_physical_replication_slot(%s, %s)'
DROP = 'SELECT pg_drop_replication_slot(%s)'
END_STREAM = ('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots '
              'WHERE slot_name = %s AND active_pid IS NOT NULL')
IDLE = 'SELECT NOT active AS idle FROM pg_replication_slots WHERE slot_name = %s'
STREAM_END_SECONDS = 10
_NAME = re.compile(r'\A[a-z0-9_]{1,63}\Z')


def _end_stream(session, name, pid):
    """Ends the walsender streaming through the slot and waits until the slot is idle (a consumer that
    reconnects at once makes the drop fail, and the error says so)."""
    session.fetch_all(END_STREAM, (name,))
    deadline = time.time() + STREAM_END_SECONDS
    while time.time() < deadline:
        row = session.fetch_one(IDLE, (name,))
        if row is None or row['idle']:
            return
        time.sleep(0.2)
    raise PgopsError('slot %s is still active %d s after its stream (pid %s) was ended: the consumer reconnects. '
                     'Nothing was dropped. Fix: stop the consumer, then run again' % (name, STREAM_END_SECONDS, pid))


def run(module):
    p = module.params
    if not _NAME.match(p['name'] or ''):
        raise ParameterError('name', '%r is not a slot name' % (p['name'],),
                             'use lower-case letters, digits and underscores, up to 63 characters')
    queries = []
    session = connect(p, application_name='pgops_replication_slot', queries=queries)
    session.conn.autocommit = True
    try:
        slot = session.fetch_one(SLOT, (p['name'],))
        changed, msg = False, 'slot %s is %s' % (p['name'], 'there' if slot else 'absent')
        if p['state'] == 'present' and slot is None:
            changed, msg = True, 'created slot %s' % p['name']
            if not module.check_mode:
                session.fetch_all(CREATE, (p['name'], p['reserve_wal']))
        elif p['state'] == 'absent' and slot is not None:
            if slot['slot_type'] != 'physical':
                raise PgopsError('slot %s is a %s slot. Fix: drop logical slots with the subscription or the tool that '
                                 'made them' % (p['name'], slot['slot_type']))
            if slot['active'] and not p['drop_active']:
                raise PgopsError('slot %s is active (pid %s streams through it): dropping it stops that standby. '
                                 'Fix: stop the standby first, or set drop_active=true' % (p['name'], slot['active_pid']))
            changed, msg = True, 'dropped slot %s (it held back %s bytes of WAL%s)' % (
                p['name'], slot['retained_bytes'], '; the stream of pid %s was ended' % slot['active_pid']
                if slot['active'] else '')
            if not module.check_mode:
                if slot['active']:
                    _end_stream(session, p['name'], slot['active_pid'])
                session.fetch_all(DROP, (p['name'],))
    finally:
        session.close()
    if module.check_mode and changed:
        msg = 'would have ' + msg
    result = dict(changed=changed, msg=msg, slot=slot, queries=queries)
    if module._diff:
        result['diff'] = {'before': 'slot %s\n' % p['name'] if slot else '',
                          'after': 'slot %s\n' % p['name'] if p['state'] == 'present' else ''}
    return result


def main():
    spec = connection_argument_spec()
    spec.update(name=dict(type='str', required=True), state=dict(type='str', choices=['present', 'absent'],
                                                                 default='present'),
                reserve_wal=dict(type='bool', default=True), drop_active=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
