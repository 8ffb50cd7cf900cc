#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: settings
short_description: Manage server settings in one drop-in file, reloading or restarting only as needed
version_added: 0.1.0
description:
  - Validates every requested setting against the running server's C(pg_settings) (name, type,
    unit family, bounds, enum values) before anything is written; an unknown name or a bad value
    fails the task and leaves the host unchanged.
  - Writes all settings to one managed file (for example C(conf.d/00-pgops.conf)), replaced atomically.
  - Decides from C(pg_settings.context) what the change needs. Settings of context C(postmaster)
    need a restart; every other change is applied with C(pg_reload_conf()).
  - The server's own parser has the last word. After writing, C(pg_file_settings) is read for errors
    in the file; if there is one the previous file is put back and the task fails before reloading.
  - The login must be able to read C(pg_file_settings) (a superuser); otherwise the task fails before
    anything is written.
  - All or nothing. When the server rejects the file, the previous file is put back before any reload.
    When the restart fails (the server does not start with the new values, for example an unknown
    library in C(shared_preload_libraries)), the previous file is put back and the server is started
    again with it; the message says what was put back and whether the server runs.
  - With O(allow_restart=false) a needed restart is not done; it is returned in RV(pending_restart)
    and as a warning finding C(settings.pending_restart) (also reported by the daily health check),
    on this run and on every later run while the server still reports it. A later run with
    O(allow_restart=true) restarts to apply it, even when the file does not change.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.service
options:
  path:
    description:
      - The managed drop-in file. It must be read by the server (Debian's C(postgresql.conf) has
        C(include_dir = 'conf.d')).
    type: path
    required: true
  settings:
    description:
      - Setting name to value. Booleans become C(on)/C(off); numbers are written as they are;
        strings are quoted. Values with units (C(1GB), C(5min)) are checked against the setting's unit.
      - Names with a dot (C(pgaudit.log)) are extension settings and are checked by the extension.
      - A name removed from this dict returns to its default.
    type: dict
    default: {}
  allow_restart:
    description: Restart the cluster when a changed setting needs it. When V(false), the restart is deferred.
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
    default: '0644'
attributes:
  check_mode:
    support: full
    description: Validates and returns the same plan (changed settings, reload or restart) without writing.
  diff_mode:
    support: full
    description: Shows the old and new file.
seealso:
  - module: pgops.postgresql.cluster_service
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Tune memory and logging (restarts only because shared_buffers changes)
  pgops.postgresql.settings:
    login_unix_socket: /var/run/postgresql
    login_port: 5432
    path: /etc/postgresql/15/main/conf.d/00-pgops.conf
    version: "15"
    cluster_name: main
    settings:
      shared_buffers: 2GB
      work_mem: 32MB
      log_min_duration_statement: 500ms
      log_connections: true

- name: Change a restart-only setting but leave the restart to a maintenance window
  pgops.postgresql.settings:
    login_unix_socket: /var/run/postgresql
    path: /etc/postgresql/15/main/conf.d/00-pgops.conf
    version: "15"
    cluster_name: main
    settings:
      max_connections: 300
    allow_restart: false
  register: tuned
'''

RETURN = r'''
changed_settings:
  description: Names whose value was added, changed or removed.
  returned: always
  type: list
  elements: str
  sample: [shared_buffers, work_mem]
action:
  description: What the change needed, V(reload), V(restart), or null for no change.
  returned: always
  type: str
  sample: restart
restart_settings:
  description: The changed names of context C(postmaster).
  returned: always
  type: list
  elements: str
restarted:
  description: Whether the cluster was restarted.
  returned: always
  type: bool
pending_restart:
  description: Names that wait for a restart because O(allow_restart=false).
  returned: always
  type: list
  elements: str
findings:
  description: A C(settings.pending_restart) warning when a restart was deferred; otherwise empty.
  returned: always
  type: list
  elements: dict
steps:
  description: >-
    The changing steps taken, in order, each with C(step), C(seconds) and C(ok) (empty when nothing
    changed and in check mode). Returned on failure too, with the failed step last.
  returned: always
  type: list
  elements: dict
  sample: [{step: write /etc/postgresql/15/main/conf.d/00-pgops.conf, seconds: 0.001, ok: true}]
queries:
  description: SQL statements run.
  returned: always
  type: list
  elements: str
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _settings
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    connect, connection_argument_spec, require_psycopg2)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import put_back, read_text, write_atomic
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._service import (
    service_argument_spec, service_for)
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps

HEADER = 'Managed by pgops.postgresql (settings module). Changes here are overwritten.'
READ_FILE_SETTINGS = "SELECT has_function_privilege('pg_show_all_file_settings()', 'EXECUTE') AS allowed"


def _file_errors(session, path):
    """The server's verdict on the file. A restart-only setting waiting for its restart also shows
    "setting could not be applied", so that message counts as an error only for other contexts."""
    rows = session.fetch_all(
        "SELECT f.sourceline, f.name, f.error, s.context FROM pg_file_settings f "
        "LEFT JOIN pg_settings s ON lower(s.name) = lower(f.name) WHERE f.sourcefile = %(path)s",
        {'path': os.path.realpath(path)})
    errors = [r for r in rows if r['error'] and not (r['error'] == 'setting could not be applied'
                                                     and r['context'] == 'postmaster')]
    return rows, errors


def _check_file(session, path, settings):
    rows, errors = _file_errors(session, path)
    if errors:
        raise PgopsError("the server rejected %s line %s (%s): %s. Fix: correct that setting" % (
            path, errors[0]['sourceline'], errors[0]['name'], errors[0]['error']))
    if settings and not rows:
        raise PgopsError("the server does not read %s. Fix: put the file in a directory named by include_dir "
                         "in postgresql.conf (Debian: conf.d)" % path)


def _reload(session):
    session.fetch_all('SELECT pg_reload_conf()')
    session.conn.commit()


def _restart(service):
    try:
        service.act('restart')
    except PgopsError as exc:
        raise PgopsError('the restart with the new settings failed: %s' % exc.msg)


def apply(module, session, steps, old_text, new_text, action):
    """Write, let the server check the file, reload, restart when needed and allowed. A failure at
    any step puts the previous file back and the server in its previous running state."""
    p = module.params
    path = p['path']
    service = service_for(p, module.run_command)
    state = dict(reloaded=False, restarted=False)
    try:
        steps.run('write %s' % path, write_atomic, module, path, new_text, p['owner'], p['group'], p['mode'])
        steps.run('the server checks %s' % path, _check_file, session, path, p['settings'])
        state['reloaded'] = True
        steps.run('reload', _reload, session)
        if action == 'restart' and p['allow_restart']:
            session.close()
            state['restarted'] = True
            steps.run('restart', _restart, service)
            return True
        return False
    except PgopsError as exc:
        put_back(module, path, old_text, p['owner'], p['group'], p['mode'])
        raise PgopsError('%s. Changed before the failure: %s. Put back: the previous %s; %s' % (
            exc.msg.rstrip('.'), ', '.join(s['step'] for s in steps.done if s['ok']) or 'nothing', path,
            _previous_state(p, service, state)))


def _previous_state(p, service, state):
    """Bring the server back to the previous file's settings; say in which state it is."""
    if not state['reloaded']:
        return 'the server was not reloaded and runs as before.'
    try:
        if not service.is_running():
            service.act('start')
            return 'the server was started again with its previous settings and runs.'
        session = connect(p, application_name='pgops_settings')
        try:
            session.conn.autocommit = True
            session.fetch_all('SELECT pg_reload_conf()')
            time.sleep(0.2)  # the postmaster rereads the files after the signal
            waiting = [r['name'] for r in session.fetch_all('SELECT name FROM pg_settings WHERE pending_restart')]
        finally:
            session.close()
        if state['restarted'] and waiting:
            service.act('restart')
            return 'the server was restarted again and runs with its previous settings.'
        return 'the server was reloaded with the previous file and runs with its previous settings.'
    except PgopsError as again:
        return 'the server does not run with its previous settings: %s' % again.msg


def main():
    spec = connection_argument_spec()
    spec.update(service_argument_spec())
    spec.update(
        path=dict(type='path', required=True),
        settings=dict(type='dict', default={}),
        allow_restart=dict(type='bool', default=True),
        owner=dict(type='str', default='postgres'),
        group=dict(type='str', default='postgres'),
        mode=dict(type='raw', default='0644'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    result = dict(changed=False, changed_settings=[], action=None, restart_settings=[], restarted=False,
                  pending_restart=[], findings=[], queries=[])
    steps = Steps()
    try:
        _validate.ownership(p['owner'], p['group'], p['mode'])
        require_psycopg2()
        if not os.path.isdir(os.path.dirname(p['path'])):
            raise PgopsError("parameter 'path': the directory of %s does not exist. Fix: create the cluster first, "
                             "or point path at its conf.d directory" % p['path'])
        session = connect(p, application_name='pgops_settings', queries=result['queries'])
        try:
            session.conn.autocommit = True
            rows = session.fetch_all(_settings.CATALOG)
            _settings.validate(p['settings'], rows)
            if not session.fetch_one(READ_FILE_SETTINGS)['allowed']:
                raise PgopsError("login_user %s can not read pg_file_settings, so the server could not check the "
                                 "file before it is used. Nothing was changed. Fix: log in as a superuser"
                                 % p['login_user'])
            new_text = _settings.render(p['settings'], HEADER)
            old_text = read_text(p['path'])
            plan = _settings.plan(old_text, new_text, rows, p['settings'])
            catalog = dict((r['name'].lower(), r) for r in rows)
            # A restart-only change an earlier run deferred (allow_restart=false) is still pending:
            # with allow_restart it is applied now, even when the file does not change.
            deferred = [n for n in sorted(_settings.parse(new_text))
                        if (catalog.get(n.lower()) or {}).get('pending_restart')]
            if deferred and p['allow_restart'] and plan['action'] != 'restart':
                plan['action'] = 'restart'
                plan['restart'] = sorted(set(plan['restart']) | set(deferred))
            file_changed = new_text != old_text
            result.update(changed=file_changed or (plan['action'] == 'restart' and p['allow_restart']),
                          changed_settings=plan['changed'], action=plan['action'], restart_settings=plan['restart'])
            if file_changed and not module.check_mode:
                result['restarted'] = apply(module, session, steps, old_text, new_text, plan['action'])
            elif result['changed'] and not module.check_mode:
                session.close()
                steps.run('restart', service_for(p, module.run_command).act, 'restart')
                result['restarted'] = True
        finally:
            session.close()
    except PgopsError as exc:
        # Everything else was put back; a restart (even one that failed) was a change clients saw.
        result.update(steps=steps.done, changed=any(s['step'] == 'restart' for s in steps.done))
        module.fail_json(msg=exc.msg, **result)
    result['steps'] = steps.done
    # What still waits for a restart: this run's restart-only changes, and those of an earlier run
    # that the server still reports (a change deferred with allow_restart=false is not forgotten).
    waiting = set(plan['restart']) | set(deferred)
    if waiting and not result['restarted'] and not (module.check_mode and p['allow_restart']):
        result['pending_restart'] = sorted(waiting)
        result['findings'] = [finding(
            'settings.pending_restart', 'warning', 'Changed settings wait for a restart',
            observed=', '.join(result['pending_restart']), expected='applied',
            remediation='Restart the cluster in a maintenance window (cluster_service state=restarted).')]
    if module._diff and result['changed']:
        result['diff'] = dict(before_header=p['path'], after_header=p['path'], before=old_text or '', after=new_text)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
