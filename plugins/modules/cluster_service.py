#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: cluster_service
short_description: Start, stop, restart or reload one PostgreSQL cluster, with or without systemd
version_added: 0.1.0
description:
  - Acts on one cluster, never on every cluster of the host (unlike C(service postgresql)).
  - With O(service_manager=auto) it uses the C(postgresql@VERSION-NAME) systemd unit when
    systemd runs, Debian's C(pg_ctlcluster --skip-systemctl-redirect) when the cluster has a
    configuration under C(/etc/postgresql) but systemd does not run (containers, chroots), and
    C(pg_ctl) on the data directory otherwise (run as the owner of the data directory).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.service
options:
  state:
    description:
      - V(started) and V(stopped) act only when needed.
      - V(restarted) restarts a running cluster and starts a stopped one.
      - V(reloaded) reloads the configuration of a running cluster and fails on a stopped one.
    type: str
    choices: [started, stopped, restarted, reloaded]
    default: started
  stop_mode:
    description: Shutdown mode for V(stopped) and V(restarted).
    type: str
    choices: [smart, fast, immediate]
    default: fast
  timeout:
    description: Seconds C(pg_ctl) waits for a start or stop.
    type: int
    default: 60
  log_file:
    description: Server log file of a cluster started by C(pg_ctl); defaults to C(DATA_DIR/pg_ctl.log).
    type: path
attributes:
  check_mode:
    support: full
    description: Reports the command it would run.
  diff_mode:
    support: full
    description: Shows the running state before and after.
seealso:
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Make sure the cluster 15/main runs (systemd or not)
  pgops.postgresql.cluster_service:
    version: "15"
    cluster_name: main
    state: started

- name: Reload after a change to pg_hba.conf
  pgops.postgresql.cluster_service:
    version: "15"
    cluster_name: main
    state: reloaded

- name: Stop a scratch cluster that is not in the Debian layout
  pgops.postgresql.cluster_service:
    data_dir: /srv/scratch/pgdata
    bin_dir: /usr/lib/postgresql/15/bin
    state: stopped
    stop_mode: immediate
'''

RETURN = r'''
manager:
  description: Service manager used.
  returned: always
  type: str
  sample: pg_ctlcluster
action:
  description: Action taken (or planned in check mode), or null when none was needed.
  returned: always
  type: str
  sample: start
command:
  description: The command run (or that would run), as a list.
  returned: always
  type: list
  elements: str
  sample: [pg_ctlcluster, --skip-systemctl-redirect, "15", main, start]
running:
  description: Whether the cluster runs after the task (as planned, in check mode).
  returned: always
  type: bool
steps:
  description: >-
    The action taken as one step with C(step), C(seconds) and C(ok) (empty when nothing was needed
    and in check mode). On failure the message says in which state the cluster was and is.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError, ServiceError
from ansible_collections.pgops.postgresql.plugins.module_utils._service import (
    service_argument_spec, service_for)
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps

_PLAN = {
    # state: (action when running, action when stopped)
    'started': (None, 'start'),
    'stopped': ('stop', None),
    'restarted': ('restart', 'start'),
    'reloaded': ('reload', 'fail'),
}


def plan(state, running):
    action = _PLAN[state][0 if running else 1]
    if action == 'fail':
        raise ServiceError("cannot reload: the cluster is not running. Fix: use state=started, or start it first")
    return action


def main():
    spec = service_argument_spec()
    spec.update(
        state=dict(type='str', default='started', choices=list(_PLAN)),
        stop_mode=dict(type='str', default='fast', choices=['smart', 'fast', 'immediate']),
        timeout=dict(type='int', default=60),
        log_file=dict(type='path'),
    )
    module = AnsibleModule(
        argument_spec=spec,
        required_together=[('version', 'cluster_name')],
        required_one_of=[('cluster_name', 'data_dir')],
        supports_check_mode=True,
    )
    p = module.params
    svc, before, action = None, None, None
    steps = Steps()
    try:
        _validate.at_least(p, 'timeout')
        svc = service_for(p, module.run_command, stop_mode=p['stop_mode'], timeout=p['timeout'],
                          log_file=p['log_file'])
        manager = svc.manager
        before = svc.is_running()
        action = plan(p['state'], before)
        command = svc.argv(action) if action else []
        after = before if action is None else action != 'stop'
        if action and not module.check_mode:
            steps.run(action, svc.act, action)
            after = svc.is_running()
            if after != (action != 'stop'):
                raise ServiceError("'%s' returned but the cluster is %s. Fix: read the server log" % (
                    ' '.join(command), 'running' if after else 'not running'))
    except PgopsError as exc:
        msg = exc.msg
        if action and not module.check_mode:
            # Say in which state the failed action left the cluster (a restart that stopped it and
            # could not start it again leaves it down), and report the change.
            try:
                now = svc.is_running()
            except PgopsError:
                now = None
            state = 'unknown' if now is None else ('running' if now else 'stopped')
            msg = '%s The cluster was %s before and is %s now.' % (
                msg.rstrip('.') + '.', 'running' if before else 'stopped', state)
            # A restart or reload that ran is a change even when the running state is the same.
            restarted = action in ('restart', 'reload') and bool(steps.done) and steps.done[-1]['ok']
            module.fail_json(msg=msg, changed=(now is not None and now != before) or restarted, running=now,
                             steps=steps.done)
        module.fail_json(msg=msg)
    result = dict(changed=action is not None, manager=manager, action=action, command=command, running=after,
                  steps=steps.done)
    if module._diff:
        result['diff'] = dict(before='running: %s\n' % before, after='running: %s\n' % after)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
