#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: hba
short_description: Write pg_hba.conf from a list of validated rules and reload
version_added: 0.1.0
description:
  - Validates every rule first (type, method, database and user names, address as a network
    with its host bits zero, a host name, or C(all)/C(samehost)/C(samenet)); a bad rule fails the task
    and leaves the file untouched.
  - Writes the whole file in the order given, replaced atomically.
  - No value can change the structure of the file - a newline, a control character or a double quote
    in a name, an address or an option is refused naming the field; option names are checked and
    option values quoted; a comment is kept on its own line.
  - With O(reload=true) it connects first (a login that fails leaves the file untouched), writes the
    file, asks the server to parse it (C(pg_hba_file_rules)), reloads, then opens a new connection
    with the same login options. When the server rejects a line, or the new rules refuse the module's
    own login (a lock-out), the previous file is put back and reloaded, and the message says so.
  - Warns about C(trust) over TCP and about C(md5)/C(password) methods.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  path:
    description: The pg_hba.conf file (the server's C(hba_file)).
    type: path
    required: true
  rules:
    description: Rules, first match wins.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description: Connection type.
        type: str
        choices: [local, host, hostssl, hostnossl, hostgssenc, hostnogssenc]
        default: hostssl
      database:
        description: Database name(s), C(all), C(sameuser), C(replication); a list or a comma-separated string.
        type: raw
        default: all
      user:
        description: Role name(s), C(all), or C(+group); a list or a comma-separated string.
        type: raw
        default: all
      address:
        description: Client network (C(10.0.0.0/8)), host name, or C(all); not for O(rules[].type=local).
        type: str
      method:
        description: Authentication method.
        type: str
        default: scram-sha-256
      options:
        description:
          - Method options, as a string of C(key=value) pairs or a dict (C(map=pgops)). Names are
            checked, values with spaces, commas, C(#) or C(=) are quoted.
        type: raw
      comment:
        description: A comment line written above the rule.
        type: str
  reload:
    description: Check the new file with the server and reload it. Needs a superuser login.
    type: bool
    default: true
  owner:
    description: Owner of the file.
    type: str
    default: postgres
  group:
    description: Group of the file.
    type: str
    default: postgres
  mode:
    description: Mode of the file.
    type: raw
    default: '0640'
attributes:
  check_mode:
    support: full
    description: Validates and shows the new file without writing it.
  diff_mode:
    support: full
    description: Shows the old and new file.
seealso:
  - module: pgops.postgresql.settings
'''

EXAMPLES = r'''
- name: Only TLS over TCP, scram everywhere, local admin by peer map
  pgops.postgresql.hba:
    path: /etc/postgresql/15/main/pg_hba.conf
    login_unix_socket: /var/run/postgresql
    rules:
      - {type: local, user: postgres, method: peer, options: {map: pgops}}
      - {type: hostnossl, address: 0.0.0.0/0, method: reject}
      - {type: hostssl, database: app, user: app, address: 10.20.0.0/16}
      - {type: hostssl, database: replication, user: replicator, address: 10.20.1.0/24}
'''

RETURN = r'''
rules:
  description: The rules as written, normalised.
  returned: always
  type: list
  elements: dict
reloaded:
  description: Whether the server reloaded its configuration.
  returned: always
  type: bool
steps:
  description: >-
    The changing steps taken, in order, each with C(step), C(seconds) and C(ok) (empty when nothing
    changed and in check mode). Returned on failure too, with the failed step last.
  returned: always
  type: list
  elements: dict
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _hba
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    connect, connection_argument_spec, require_psycopg2)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ConnectionFailed, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import put_back, read_text, write_atomic
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps

HEADER = 'Managed by pgops.postgresql (hba module). Changes here are overwritten.'


def _check_file(session, path):
    errors = session.fetch_all('SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL')
    if errors:
        raise PgopsError("the server rejected %s line %s: %s. Fix: correct that rule" % (
            path, errors[0]['line_number'], errors[0]['error']))


LOAD_TIME = 'SELECT pg_conf_load_time() AS t'


def _login_after_reload(p, loaded_before, timeout=10.0):
    """The reload is asynchronous: a session forked before the postmaster reread the files still
    has the old rules. Wait for a session whose configuration load time is newer than before the
    reload; a refused login means the new rules are loaded and shut this login out."""
    deadline = time.time() + timeout
    while True:
        try:
            session = connect(p, application_name='pgops_hba_check')
        except ConnectionFailed as exc:
            raise PgopsError("after the reload, the module's own login (%s) is refused: %s. The new rules would "
                             "lock it out. Fix: keep a rule that admits this login" % (p['login_user'], exc.msg))
        try:
            if session.fetch_one(LOAD_TIME)['t'] > loaded_before:
                return
        finally:
            session.close()
        if time.time() > deadline:
            raise PgopsError('the server did not reload %s within %d s. Fix: read the server log' % (
                p['path'], timeout))
        time.sleep(0.05)


def _reloaded(session):
    loaded_before = session.fetch_one(LOAD_TIME)['t']
    session.fetch_all('SELECT pg_reload_conf()')
    return loaded_before


def _previous_rules_back(p, session):
    """Reload the previous file and wait until the login works with it again."""
    loaded_before = _reloaded(session)
    deadline = time.time() + 10.0
    while True:
        try:
            _login_after_reload(p, loaded_before, timeout=max(0.1, deadline - time.time()))
            return
        except PgopsError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def apply_checked(module, session, steps, old_text, new_text):
    """Write the new file, let the server check it, reload, and prove the module's own login still
    works; on a failure at any step put the previous file back (and reload it when the new one may
    have been loaded)."""
    p = module.params
    reloaded = False
    try:
        steps.run('write %s' % p['path'], write_atomic, module, p['path'], new_text, p['owner'], p['group'],
                  p['mode'])
        steps.run('the server checks %s' % p['path'], _check_file, session, p['path'])
        reloaded = True
        loaded_before = steps.run('reload', _reloaded, session)
        steps.run("the module's own login", _login_after_reload, p, loaded_before)
    except PgopsError as exc:
        put_back(module, p['path'], old_text, p['owner'], p['group'], p['mode'])
        state = 'the new rules were never loaded'
        if reloaded:
            try:
                _previous_rules_back(p, session)
                state = 'the previous rules are loaded again'
            except PgopsError as again:
                state = 'the reload of the previous rules failed (%s): reload the server' % again.msg
        failure = PgopsError('%s. Put back: the previous %s (%s). Nothing else was changed.' % (
            exc.msg.rstrip('.'), p['path'], state))
        failure.left_changed = state.startswith('the reload of the previous rules failed')
        raise failure


def main():
    spec = connection_argument_spec()
    spec.update(
        path=dict(type='path', required=True),
        rules=dict(type='list', elements='dict', required=True),
        reload=dict(type='bool', default=True),
        owner=dict(type='str', default='postgres'),
        group=dict(type='str', default='postgres'),
        mode=dict(type='raw', default='0640'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    steps = Steps()
    try:
        _validate.ownership(p['owner'], p['group'], p['mode'])
        rules = _hba.normalize(p['rules'])
        new_text = _hba.render(rules, HEADER)
        old_text = read_text(p['path'])
        changed = new_text != old_text
        if changed and not module.check_mode:
            if not os.path.isdir(os.path.dirname(p['path'])):
                raise PgopsError("parameter 'path': the directory of %s does not exist. Fix: create the cluster first"
                                 % p['path'])
            if not p['reload']:
                steps.run('write %s' % p['path'], write_atomic, module, p['path'], new_text, p['owner'],
                          p['group'], p['mode'])
            else:
                # Connected before anything changes: a login that fails now leaves the file untouched.
                require_psycopg2()
                session = connect(p, application_name='pgops_hba')
                try:
                    session.conn.autocommit = True
                    hba_file = session.fetch_one("SELECT current_setting('hba_file') AS f")['f']
                    if os.path.realpath(hba_file) != os.path.realpath(p['path']):
                        raise PgopsError("the server reads %s, not %s. Nothing was changed. Fix: point path at the "
                                         "server's hba_file" % (hba_file, p['path']))
                    apply_checked(module, session, steps, old_text, new_text)
                finally:
                    session.close()
    except PgopsError as exc:
        module.fail_json(msg=exc.msg, changed=getattr(exc, 'left_changed', False), steps=steps.done)
    for warning in _hba.warnings(rules):
        module.warn(warning)
    result = dict(changed=changed, rules=rules, reloaded=bool(changed and p['reload'] and not module.check_mode),
                  steps=steps.done)
    if module._diff and changed:
        result['diff'] = dict(before_header=p['path'], after_header=p['path'], before=old_text or '', after=new_text)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
