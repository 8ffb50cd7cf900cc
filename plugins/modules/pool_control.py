#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pool_control
short_description: Pause, resume and repoint a pgbouncer instance (around a switchover or failover)
version_added: 0.1.0
description:
  - V(pause) sends C(PAUSE) to the instance's admin console - pgbouncer lets the running transactions
    finish, closes its server connections and holds every new query until C(RESUME). Clients wait instead
    of failing. When transactions still run after O(pause_timeout) seconds the instance is resumed and the
    module fails having changed nothing.
  - V(resume) sends C(RESUME).
  - V(retarget) points every entry of the C([databases]) section of O(config_file) at
    O(server_host):O(server_port) (the other keys and sections kept), sends C(RELOAD) and checks with
    C(SHOW DATABASES) that pgbouncer took the new address; then, with O(resume), C(RESUME). When the reload
    or the check fails, the previous file is put back and reloaded, and the message says so.
  - A pause, then the switchover, then V(retarget) with O(resume) is what C(playbooks/switchover.yml) and
    C(playbooks/failover.yml) do for the instances in C(pgops_poolers).
  - "pgbouncer 1.18 can not be asked whether it is paused: PAUSE on a paused instance and RESUME on a running
    one change nothing and return C(changed=false); check mode can only say what it would send."
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  action:
    description: What to do.
    type: str
    choices: [pause, resume, retarget]
    required: true
  instance:
    description: Name of the instance, for the messages.
    type: str
    default: pgbouncer
  os_user:
    description:
      - Open the console session with this operating system user's identity (the module must run as root).
        Over the unix socket (O(login_unix_socket)) pgbouncer lets the user it runs as log in to the console as
        V(pgbouncer) without a password - no console password needs to exist.
    type: str
  pause_timeout:
    description: Seconds C(PAUSE) may wait for running transactions before the instance is resumed and the module fails.
    type: int
    default: 30
  config_file:
    description: The instance's configuration file, on the host the module runs on (V(retarget)).
    type: path
  server_host:
    description: The server every database entry should point at (V(retarget)) - a name its certificate holds when
      pgbouncer verifies it, an address, or a unix socket directory.
    type: str
  server_port:
    description: Its port (V(retarget)).
    type: int
  resume:
    description: With V(retarget), send C(RESUME) once pgbouncer serves the new address.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Returns the commands it would send and, for V(retarget), the new file as a diff; sends nothing, writes nothing.
  diff_mode:
    support: full
    description: V(retarget) returns the configuration file before and after.
notes:
  - C(login_db) is not used - the console is the virtual database C(pgbouncer).
  - The console login needs admin rights (C(admin_users), or V(pgbouncer) through O(os_user)); a stats user may only C(SHOW).
seealso:
  - module: pgops.postgresql.pool_check
  - module: pgops.postgresql.failover
'''

EXAMPLES = r'''
- name: Hold the clients of the app pool
  pgops.postgresql.pool_control:
    action: pause
    instance: app
    login_unix_socket: /var/run/postgresql
    login_port: 6432
    login_user: pgbouncer
    os_user: postgres
    pause_timeout: 20

- name: Point the app pool at the new primary and let the clients go on
  pgops.postgresql.pool_control:
    action: retarget
    instance: app
    config_file: /etc/pgbouncer/app.ini
    server_host: db2.example.com
    server_port: 5432
    resume: true
    login_unix_socket: /var/run/postgresql
    login_port: 6432
    login_user: pgbouncer
    os_user: postgres
'''

RETURN = r'''
paused:
  description: Whether the instance is paused when the module ends.
  returned: when known - after pause and resume, and retarget with resume
  type: bool
commands:
  description: The console commands sent (or, in check mode, that would be sent), in order.
  returned: always
  type: list
  elements: str
  sample: [PAUSE]
seconds:
  description: How long the action took (for V(pause), how long clients started waiting before it completed).
  returned: success
  type: float
databases:
  description: With V(retarget), the databases pgbouncer serves afterwards with their host and port.
  returned: when action is retarget and not in check mode
  type: list
  elements: dict
  sample: [{name: app, host: db2.example.com, port: 5432, paused: false}]
entries:
  description: With V(retarget), the names of the C([databases]) entries of the file.
  returned: when action is retarget
  type: list
  elements: str
steps:
  description: Each step of V(retarget) with its duration.
  returned: when action is retarget
  type: list
  elements: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbouncer, _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import put_back, read_text, write_atomic
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps


def validate(p):
    _validate.one_line(p['instance'], 'instance')
    _validate.at_least(p, 'pause_timeout')
    if p['os_user']:
        _validate.name(p['os_user'], 'os_user', 'operating system user')
    if p['action'] != 'retarget':
        return None
    if not p['config_file']:
        raise ParameterError('config_file', 'is required for action=retarget', "give the instance's .ini file")
    _pgbouncer.check_server(p['server_host'], p['server_port'])
    old = read_text(p['config_file'])
    if old is None:
        raise ParameterError('config_file', '%s can not be read' % p['config_file'],
                             "give the instance's configuration file on this host")
    new, entries = _pgbouncer.retarget(old, p['server_host'], p['server_port'])
    if not entries:
        raise ParameterError('config_file', '%s has no [databases] entry to point anywhere' % p['config_file'],
                             'give the file of an instance that serves databases')
    return old, new, entries


def retarget(module, console, p, old, new, steps):
    """Write, reload, check; put the old file back (and reload it) when a step fails."""
    path = p['config_file']
    try:
        if new != old:
            steps.run('write %s' % path, write_atomic, module, path, new)
            steps.run('RELOAD', console.command, 'RELOAD')
        served = steps.run('verify', console.databases)
        wrong = [d for d in served if d['host'] != p['server_host'] or int(d['port'] or 0) != p['server_port']]
        if wrong:
            raise PgopsError('pgbouncer still serves %s after RELOAD' % ', '.join(
                '%s at %s:%s' % (d['name'], d['host'], d['port']) for d in wrong))
        resumed = steps.run('RESUME', console.resume) if p['resume'] else False
        return served, resumed
    except PgopsError as exc:
        done = steps.completed()
        if not any(s.startswith('write ') for s in done):
            raise
        put_back(module, path, old)
        try:
            console.command('RELOAD')
            state = 'the previous file is back and reloaded'
        except PgopsError as again:
            state = 'the previous file is back but RELOAD failed too (%s): reload the instance by hand' % again.msg
        raise PgopsError('%s. Done before the failure: %s; %s; the instance is still paused if it was paused '
                         '(RESUME it when its servers are right)' % (exc.msg.rstrip('.'), '; '.join(done), state))


def main():
    spec = connection_argument_spec()
    spec.update(action=dict(type='str', required=True, choices=['pause', 'resume', 'retarget']),
                instance=dict(type='str', default='pgbouncer'), os_user=dict(type='str'),
                pause_timeout=dict(type='int', default=30), config_file=dict(type='path'),
                server_host=dict(type='str'), server_port=dict(type='int'), resume=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    commands, steps, t0 = [], Steps(), time.time()
    result = dict(changed=False, commands=commands)
    try:
        plan = validate(p)
        if p['action'] == 'retarget':
            old, new, entries = plan
            result.update(entries=entries, steps=steps.done, changed=new != old,
                          diff=dict(before=old, after=new, before_header=p['config_file'], after_header=p['config_file']))
            if module.check_mode:
                commands.extend((['RELOAD'] if new != old else []) + ['SHOW DATABASES'] + (['RESUME'] if p['resume'] else []))
                module.exit_json(**result)
        elif module.check_mode:
            commands.append(p['action'].upper())
            module.exit_json(changed=True, commands=commands, paused=p['action'] == 'pause')
        console = _pgbouncer.Console(p, commands, p['os_user'])
        try:
            if p['action'] == 'pause':
                result.update(changed=console.pause(p['pause_timeout']), paused=True)
            elif p['action'] == 'resume':
                result.update(changed=console.resume(), paused=False)
            else:
                result['databases'], resumed = retarget(module, console, p, old, new, steps)
                result['changed'] = result['changed'] or resumed
                if p['resume']:
                    result['paused'] = False
        finally:
            console.close()
    except PgopsError as exc:
        module.fail_json(msg='pgbouncer instance %s: %s' % (p['instance'], exc.msg), commands=commands,
                         steps=steps.done, changed=any(s.startswith(('write ', 'RESUME')) for s in steps.completed()))
    result['seconds'] = round(time.time() - t0, 3)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
