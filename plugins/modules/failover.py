#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: failover
short_description: Status, switchover, failover and rejoin of a streaming-replication cluster
version_added: 0.1.0
description:
  - V(status) reads the topology as the servers see it, one statement per node - role, timeline, LSNs,
    lag in bytes and seconds, sync state, upstream, slots - and reports a split brain. It writes nothing.
  - V(switchover) is a planned change without data loss - the candidate must stream from the primary within
    O(max_lag_bytes) and no transaction may be older than O(max_transaction_seconds); then CHECKPOINT, a fast
    shutdown of the primary, a wait until the candidate has replayed the primary's shutdown checkpoint (on
    timeout the old primary is started again and nothing else changes), C(pg_promote), a write on the new
    primary, the other standbys repointed, the old primary rejoined as a standby (C(pg_rewind) only when
    needed) and C(synchronous_standby_names) restored.
  - V(failover) is unplanned - a primary that still answers is fenced (stopped) when it is local, otherwise the
    action refuses unless O(force); the most advanced standby by received WAL is promoted (a named candidate
    lagging more than O(max_lag_bytes) is refused unless O(force)); the standbys behind it are repointed,
    those ahead of it are reported in RV(needs_rejoin).
  - V(rejoin) turns a former primary into a standby of the current primary with C(pg_rewind), after finishing
    its crash recovery in single-user mode when it was not shut down cleanly, falling back to a re-clone with
    C(pg_basebackup) only with O(reclone).
  - "Two primaries among the nodes (split brain) stop every action before anything changes."
  - Check mode returns the same plan the real run follows, step by step; every step of a real run is timed.
  - With O(patroni_api) the cluster is managed by Patroni - V(status), V(switchover) and V(failover) go through
    its REST API (C(/cluster), C(/switchover), C(/failover)) and nothing is done natively.
  - A node is reached with libpq for everything SQL can do. Stopping, rewinding and restarting need the node's
    data directory on the host the module runs on - mark such nodes O(nodes[].local).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  action:
    description: What to do.
    type: str
    choices: [status, switchover, failover, rejoin]
    default: status
  nodes:
    description:
      - Every node of the cluster, primary and standbys. O(login_user), O(login_password) and the TLS options
        apply to all of them; O(login_host), O(login_port) and O(login_unix_socket) are taken from here.
      - Required unless O(patroni_api) is given.
    type: list
    elements: dict
    suboptions:
      name:
        description: Node name; also its C(application_name) and replication slot name on the primary.
        type: str
        required: true
      host:
        description: Where the module connects (address, or a unix socket directory).
        type: str
        default: ''
      port:
        description: Port of the node.
        type: int
        default: 5432
      replication_host:
        description: Address other nodes stream from; defaults to O(nodes[].host) unless that is a socket directory.
        type: str
      local:
        description: The node's data directory is on the host the module runs on (it can be stopped, rewound and started here).
        type: bool
        default: false
      data_dir:
        description: Data directory; defaults to C(/var/lib/postgresql/VERSION/CLUSTER).
        type: path
      version:
        description: Major version (Debian layout).
        type: str
      cluster_name:
        description: Cluster name (Debian layout).
        type: str
      bin_dir:
        description: Server programs; defaults to C(/usr/lib/postgresql/VERSION/bin).
        type: path
      config_file:
        description: postgresql.conf outside the data directory, for crash recovery before C(pg_rewind); defaults to the Debian path when it exists.
        type: path
      service_manager:
        description: How to start and stop the node (see M(pgops.postgresql.cluster_service)).
        type: str
        choices: [auto, systemd, pg_ctlcluster, pg_ctl]
        default: auto
  primary:
    description: The current (or, for V(failover), the failed) primary; detected when left out. A mismatch stops the action.
    type: str
  candidate:
    description: The standby to promote; the most advanced streaming standby when left out.
    type: str
  node:
    description: For V(rejoin) - the node to turn into a standby.
    type: str
  replication_user:
    description: Replication role standbys log in as.
    type: str
    default: replicator
  replication_password:
    description: Its password, written into C(primary_conninfo). Needed by every action that repoints or rejoins a node.
    type: str
  replication_passfile:
    description: A C(.pgpass) file on the nodes to use instead of O(replication_password).
    type: path
  replication_ssl_mode:
    description: C(sslmode) of C(primary_conninfo); V(verify-full) when O(replication_ca_cert) is given, else V(require).
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  replication_ca_cert:
    description: CA certificate on the nodes (C(sslrootcert)) to verify the primary.
    type: path
  max_lag_bytes:
    description: Largest lag of the candidate (switchover - replay behind the primary; failover - received WAL behind the most advanced position known).
    type: int
    default: 16777216
  max_transaction_seconds:
    description: Switchover refuses while a transaction on the primary is older than this.
    type: int
    default: 300
  synchronous_standby_names:
    description: Value for the new primary after a switchover; the old primary's value when left out.
    type: str
  rejoin:
    description: After a switchover, turn the old primary into a standby of the new one.
    type: bool
    default: true
  reclone:
    description: V(rejoin) may copy the node anew with C(pg_basebackup) when C(pg_rewind) fails.
    type: bool
    default: false
  fence_running_primary:
    description:
      - With O(action=failover), stop a primary that is reachable, accepts writes and is local, then
        promote. Without it such a failover is refused (a planned change is O(action=switchover)).
    type: bool
    default: false
  force:
    description: Go beyond the bounds (lag, open transactions), fail over without fencing a primary that is not local, and stop a running node to rejoin it.
    type: bool
    default: false
  timeout:
    description: Seconds for each wait (promotion, write, streaming) and each service action.
    type: int
    default: 60
  catchup_timeout:
    description: Seconds to wait for the candidate to replay the old primary's shutdown checkpoint.
    type: int
    default: 30
  patroni_api:
    description: Patroni REST API endpoints (for example V(http://10.0.0.1:8008)); the first that answers is used.
    type: list
    elements: str
  patroni_user:
    description: User of the Patroni REST API (basic authentication).
    type: str
  patroni_password:
    description: Its password.
    type: str
  patroni_validate_certs:
    description: Verify the REST API's TLS certificate.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads the topology, runs every refusal check and returns the plan; changes nothing.
  diff_mode:
    support: none
    description: The change is a new topology; RV(plan) and RV(nodes) describe it.
notes:
  - Run V(switchover) on the primary's host and V(rejoin) on the rejoined node's host (C(delegate_to)), with those nodes C(local).
  - The new primary runs without synchronous standbys from its promotion until the old primary streams again
    (less than a second in a switchover); C(synchronous_standby_names) is restored then, with the new primary's
    name replaced by the old primary's. After a V(failover) it stays empty until you set it again.
seealso:
  - module: pgops.postgresql.write_probe
  - module: pgops.postgresql.cluster_service
'''

EXAMPLES = r'''
- name: Where is everything
  pgops.postgresql.failover:
    action: status
    nodes:
      - {name: db1, host: 10.0.0.1, port: 5432}
      - {name: db2, host: 10.0.0.2, port: 5432}
    login_user: pgops_admin
    login_password: "{{ vault_pgops_admin_password }}"

- name: Planned switchover db1 -> db2, run on db1
  pgops.postgresql.failover:
    action: switchover
    primary: db1
    candidate: db2
    nodes:
      - {name: db1, host: 10.0.0.1, local: true, version: "15", cluster_name: main}
      - {name: db2, host: 10.0.0.2}
    replication_password: "{{ vault_replicator_password }}"
    login_user: pgops_admin
    login_password: "{{ vault_pgops_admin_password }}"

- name: Switchover of a Patroni cluster
  pgops.postgresql.failover:
    action: switchover
    candidate: db2
    patroni_api: [http://10.0.0.1:8008, http://10.0.0.2:8008]
'''

RETURN = r'''
plan:
  description: The steps, in order (planned in check mode, followed in a real run).
  returned: for switchover, failover and rejoin
  type: list
  elements: str
steps:
  description: Each step run, with its duration in seconds.
  returned: always
  type: list
  elements: dict
  sample: [{step: "promote db2", seconds: 0.21, ok: true}]
nodes:
  description: The topology - per node name, role, timeline, LSNs, lag_bytes, replay_lag_seconds, sync_state, upstream, slots.
  returned: always
  type: list
  elements: dict
primary:
  description: The primary after the action.
  returned: always
  type: str
old_primary:
  description: The primary before the action.
  returned: for switchover and failover
  type: str
split_brain:
  description: More than one node accepts writes (status only; the other actions refuse).
  returned: for status
  type: bool
write_unavailable_seconds:
  description: From the first disruptive step (stopping or fencing the primary, or the promotion) until the new primary took a write.
  returned: when a switchover or failover ran
  type: float
unavailable_since_last_write_seconds:
  description:
    - With O(action=failover), from the last time the primary was seen accepting writes until the new
      primary took a write - the fencing stop of a reachable primary, else the last commit the
      candidate replayed (an upper bound when the primary was idle before it failed).
  returned: when a failover ran
  type: float
needs_rejoin:
  description: Nodes that can not follow the new primary without a rewind (the old primary, standbys ahead of the candidate).
  returned: for failover
  type: list
  elements: str
rejoin:
  description: What rejoining took - rewound, recloned, crash_recovery, dropped_slots.
  returned: when a node was rejoined
  type: dict
'''

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _failover as fo
from ansible_collections.pgops.postgresql.plugins.module_utils import _patroni
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        action=dict(type='str', default='status', choices=['status', 'switchover', 'failover', 'rejoin']),
        nodes=dict(type='list', elements='dict', options=fo.NODE_SPEC),
        primary=dict(type='str'), candidate=dict(type='str'), node=dict(type='str'),
        replication_user=dict(type='str', default='replicator'),
        replication_password=dict(type='str', no_log=True),
        replication_passfile=dict(type='path'),
        replication_ssl_mode=dict(type='str', choices=['disable', 'allow', 'prefer', 'require', 'verify-ca',
                                                       'verify-full']),
        replication_ca_cert=dict(type='path'),
        max_lag_bytes=dict(type='int', default=16 * 1024 * 1024),
        max_transaction_seconds=dict(type='int', default=300),
        synchronous_standby_names=dict(type='str'),
        rejoin=dict(type='bool', default=True), reclone=dict(type='bool', default=False),
        force=dict(type='bool', default=False), fence_running_primary=dict(type='bool', default=False),
        timeout=dict(type='int', default=60), catchup_timeout=dict(type='int', default=30),
        patroni_api=dict(type='list', elements='str'), patroni_user=dict(type='str'),
        patroni_password=dict(type='str', no_log=True), patroni_validate_certs=dict(type='bool', default=True),
    )
    return spec


NODE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')


def validate(p):
    for name in ('max_lag_bytes', 'max_transaction_seconds', 'timeout', 'catchup_timeout'):
        if p[name] < 0 or (name.endswith('timeout') and p[name] == 0):
            raise ParameterError(name, 'must be positive, got %d' % p[name], 'give a positive number')
    if not p['patroni_api'] and not p['nodes']:
        raise ParameterError('nodes', 'is empty', 'list every node of the cluster (or give patroni_api)')
    names = [n['name'] for n in p['nodes'] or []]
    for index, node_name in enumerate(names):
        # a node name becomes an application_name, a slot name and a word of synchronous_standby_names
        if not NODE_NAME.match(node_name):
            raise ParameterError('nodes[%d].name' % index, '%r is not a valid node name' % node_name,
                                 'use letters, digits and "_", "-" or "." (at most 63), as in the inventory')
    _validate.one_line(p['synchronous_standby_names'], 'synchronous_standby_names', empty=True)
    for opt in ('primary', 'candidate', 'node'):
        if p[opt] and names and p[opt] not in names:
            raise ParameterError(opt, '%s is not one of the nodes (%s)' % (p[opt], ', '.join(names)),
                                 'name a node of the nodes list')
    if p['action'] == 'rejoin' and not p['node']:
        raise ParameterError('node', 'is required for action=rejoin', 'name the node to turn into a standby')
    if p['primary'] and p['candidate'] and p['primary'] == p['candidate']:
        raise ParameterError('candidate', 'is the same node as primary', 'name a standby')


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    steps = Steps()
    topo = None
    try:
        validate(p)
        if p['patroni_api']:
            api = _patroni.Patroni(p['patroni_api'], p['patroni_user'], p['patroni_password'],
                                   p['patroni_validate_certs'], p['timeout'])
            result = _patroni.run_action(api, p['action'], p, module.check_mode, steps)
            result['patroni_calls'] = api.calls
        else:
            topo = fo.Topology(p['nodes'], p, module.run_command)
            steps = topo.steps
            result = fo.ACTIONS[p['action']](topo, p, module.check_mode)
            if 'nodes' not in result:
                result['nodes'] = fo.summarize(topo)[0]
    except PgopsError as exc:
        for w in topo.warnings if topo else []:
            module.warn(w)
        done = [s for s in steps.completed() if not s.startswith(('CHECKPOINT', 'wait ', 'verify '))]
        promoted = [s for s in done if s.startswith('promote ')]
        msg = exc.msg
        if done:
            msg = '%s%s. Done before the failure: %s.' % (
                'The %s happened (%s). Then: ' % (p['action'], promoted[0]) if promoted else '',
                msg.rstrip('.'), '; '.join(done))
        module.fail_json(msg=msg, steps=steps.done, changed=bool(done))
    result['steps'] = steps.done
    for w in topo.warnings if topo else []:
        module.warn(w)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
