#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pitr_restore
short_description: Point-in-time recovery of a cluster from pgBackRest, with safety checks and proof
version_added: 0.1.0
description:
  - Restores a stanza into O(data_dir) up to a target (C(time), C(name) of a restore point, C(lsn),
    C(xid) or C(immediate)), with C(--archive-mode=off) so the recovered server does not archive into
    the stanza until you decide (re-enable archiving and take a new full backup afterwards).
  - "Refuses, each with its own override: a running cluster (O(stop_running) stops it first), a data
    directory that belongs to another cluster than the stanza (O(overwrite_foreign)), a target time
    before the end of the oldest backup or after the newest archived WAL (O(allow_outside_window)).
    Always refused: a target time without a time zone or in the future, an O(set) the stanza does not
    have. Everything is checked before the cluster is stopped."
  - A time target written with C(UTC) or C(Z) is passed to pgBackRest with a numeric offset.
  - "All or nothing as far as the data allows: when pgBackRest fails, a cluster this module stopped is
    started again (pgBackRest refuses most errors before it touches a file); the message says whether
    it runs. When the recovering server stops (for example C(recovery ended before configured recovery
    target was reached): a restore point or xid that is not in the WAL), the module fails at once with
    the server's own log line instead of waiting for O(timeout)."
  - Promotion is judged from C(pg_controldata) (C(in production)), which the server writes after the
    end-of-recovery checkpoint, not from C(recovery.signal) disappearing.
  - In check mode returns the exact pgbackrest command and the backup set it would restore from.
  - After recovery it starts the cluster, waits for the promotion (C(target_action=promote)) and proves
    where recovery ended from the new timeline's history file (switch LSN and reason).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.service
options:
  stanza:
    description: The pgBackRest stanza.
    type: str
    required: true
  config:
    description: pgBackRest configuration file.
    type: path
  run_as:
    description: OS user that runs pgbackrest (the data directory's owner).
    type: str
    default: postgres
  target_type:
    description: Kind of recovery target.
    type: str
    choices: [time, name, lsn, xid, immediate]
    required: true
  target:
    description: The target (a time with a time zone, a restore point name, an LSN, a transaction id); not for V(immediate).
    type: str
  target_action:
    description: What the server does at the target.
    type: str
    choices: [promote, pause, shutdown]
    default: promote
  set:
    description: Backup label to restore from; default lets pgBackRest choose the newest backup before the target.
    type: str
  delta:
    description: Restore only the files that differ (into an existing data directory).
    type: bool
    default: true
  process_max:
    description: Parallel restore processes.
    type: int
    default: 2
  start:
    description: Start the cluster after the restore and prove the target.
    type: bool
    default: true
  stop_running:
    description: Stop the cluster when it runs (after every other check passed).
    type: bool
    default: false
  overwrite_foreign:
    description: Restore into a data directory that belongs to another cluster than the stanza (system identifier).
    type: bool
    default: false
  allow_outside_window:
    description: Accept a target time before the end of the oldest backup or after the newest archived WAL.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the server to reach the target and be promoted.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Returns the pgbackrest command and the backup set it would use; changes nothing.
  diff_mode:
    support: none
    description: The whole data directory is replaced; there is no meaningful diff.
seealso:
  - module: pgops.postgresql.restore_test
'''

EXAMPLES = r'''
- name: Dry run - what would a PITR to 03:00 UTC do
  pgops.postgresql.pitr_restore:
    stanza: main
    data_dir: /var/lib/postgresql/15/main
    version: "15"
    cluster_name: main
    target_type: time
    target: "2026-11-24 03:00:00+00"
  check_mode: true
  register: plan

- name: Restore to a named restore point
  pgops.postgresql.pitr_restore:
    stanza: main
    data_dir: /var/lib/postgresql/15/main
    version: "15"
    cluster_name: main
    target_type: name
    target: before-release-42
'''

RETURN = r'''
command:
  description: The pgbackrest restore command (run, or planned in check mode).
  returned: always
  type: list
  elements: str
backup_set:
  description: The backup the restore starts from.
  returned: always
  type: str
recovery:
  description: The proof - new timeline, the LSN where it switched, the history file's reason, and whether the server is in recovery.
  returned: when started
  type: dict
  sample: {timeline: 2, switch_lsn: 0/3000100, reason: "before 2026-11-24 03:00:00+00", in_recovery: false}
timings:
  description: Seconds for stop, restore, start until promoted, and total.
  returned: when not in check mode
  type: dict
steps:
  description: >-
    The changing steps taken, in order, each with C(step), C(seconds) and C(ok). Returned on failure
    too, with the failed step last; the message then says what the data directory holds and whether
    the server runs.
  returned: when not in check mode
  type: list
  elements: dict
'''

import datetime
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbackrest as pgbr
from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import Layout, controldata
from ansible_collections.pgops.postgresql.plugins.module_utils._process import Recorder, as_user
from ansible_collections.pgops.postgresql.plugins.module_utils._service import (
    postmaster_running, service_argument_spec, service_for)
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps, wait_until


def _log_file(data_dir, svc):
    if svc.manager == 'pg_ctl':
        return svc.log_file
    return '/var/log/postgresql/postgresql-%s-%s.log' % (svc.version, svc.cluster_name)


def server_log_hint(data_dir, svc):
    """The server's own FATAL/PANIC line from its log, when there is one."""
    try:
        with open(_log_file(data_dir, svc)) as fh:
            lines = fh.read().splitlines()[-200:]
    except (IOError, OSError, TypeError):
        return 'Fix: read the server log'
    fatal = [line.strip() for line in lines if 'FATAL:' in line or 'PANIC:' in line]
    said = fatal[-1] if fatal else (lines[-1].strip() if lines else 'nothing')
    return ('The server said: %s. Fix: choose a target the archived WAL reaches (a restore point or xid that '
            'exists, a time before the newest archived WAL), or bring back the missing WAL' % said)


class _ServerStopped(Exception):
    """The recovering server is gone: waiting longer cannot help."""


def wait_promoted(run, layout, data_dir, svc, timeout):
    """Until pg_controldata says "in production" (the end-of-recovery checkpoint is done); fail at
    once with the server's log line when the postmaster is gone."""
    def promoted():
        if not postmaster_running(data_dir):
            raise _ServerStopped()
        return controldata(run.run_command, layout).get('state') == 'in production'  # polled: not recorded
    try:
        wait_until(promoted, timeout, 'the end of recovery', interval=0.2)
    except _ServerStopped:
        raise ToolError('the server stopped during recovery. %s' % server_log_hint(data_dir, svc))
    except ToolError:
        raise ToolError('the server did not finish recovery within %d s (missing WAL, or a target after the newest '
                        'archived WAL). Fix: read the server log (%s)' % (timeout, _log_file(data_dir, svc)))


def _restore(run, command):
    rc, out, err = run(command)
    if rc != 0:
        raise ToolError('pgbackrest restore failed (exit %d): %s' % (rc, pgbr.error_text(err or out)))


def _start(svc, data_dir):
    try:
        svc.act('start')
    except PgopsError as exc:
        raise ToolError('%s %s' % (exc.msg.rstrip('.') + '.', server_log_hint(data_dir, svc)))


STEP_TIMINGS = {'stop the cluster': 'stop', 'pgbackrest restore': 'restore', 'start the restored cluster': 'start',
                'wait for the end of recovery': 'start'}


def timings(steps):
    """Seconds per phase (stop, restore, start: start includes the wait for the end of recovery)."""
    out = {}
    for step in steps.done:
        key = STEP_TIMINGS[step['step']]
        out[key] = round(out.get(key, 0) + step['seconds'], 3)
    out['total'] = round(sum(step['seconds'] for step in steps.done), 3)
    return out


def state_after_failure(steps, running, svc, data_dir, backup_set):
    """After a failed step: whether anything changed, and what the message says of the cluster.

    Before pgBackRest restored anything, a cluster this module stopped is started again. Once the
    restore ran, the previous data is gone (that is the point of a restore): the message says what
    the data directory holds and in which state the server is, and what to do next.
    """
    ok = dict((s['step'], s['ok']) for s in steps.done)
    if not ok.get('pgbackrest restore'):
        if not running:
            return False, 'The cluster was not running and stays stopped; its data directory was not restored.'
        try:
            svc.act('start')
            return True, 'The cluster was stopped by this module and started again: it runs as before.'
        except PgopsError as exc:
            return True, ('The cluster was stopped by this module and does not start again (%s): its data directory '
                          'may be partly restored; restore again' % exc.msg)
    was = 'running (stopped by this module)' if running else 'stopped'
    try:
        now = 'running' if postmaster_running(data_dir) else 'stopped'
    except OSError:
        now = 'in an unknown state'
    if now == 'running':
        recovering = os.path.exists(os.path.join(data_dir, 'recovery.signal'))
        now += ', still in recovery' if recovering else ', out of recovery'
    return True, ('Changed: the cluster was %s; %s now holds backup set %s restored by pgBackRest (the previous data '
                  'is not kept) and the server is %s. Fix: read the server log, then start it (cluster_service '
                  'state=started) and wait for recovery, or restore again' % (was, data_dir, backup_set, now))


def newest_archived(run, p):
    """Write time (epoch) of the newest WAL segment in the stanza's archive, from repo-ls."""
    argv = as_user(pgbr.argv('repo-ls', p['stanza'], p['config'], {'recurse': True, 'output': 'json'}),
                   p['run_as'])
    argv.append('archive/%s' % p['stanza'])
    rc, out, err = run(argv)
    if rc != 0:
        return None
    try:
        listing = json.loads(out)
    except ValueError:
        return None
    times = [v.get('time') for k, v in listing.items()
             if v.get('type') == 'file' and re.search(r'/[0-9A-F]{24}-[0-9a-f]+', k)]
    return max(times) if times else None


def choose_set(backups, target_type, target_time):
    ordered = sorted(backups, key=lambda b: b['timestamp']['stop'])
    if not ordered:
        return None
    if target_type == 'time' and target_time is not None:
        before = [b for b in ordered if b['timestamp']['stop'] <= target_time.timestamp()]
        return (before or ordered[:1])[-1]['label']
    return ordered[-1]['label']


def history(data_dir):
    files = sorted(f for f in os.listdir(os.path.join(data_dir, 'pg_wal')) if f.endswith('.history'))
    if not files:
        return None
    with open(os.path.join(data_dir, 'pg_wal', files[-1])) as fh:
        lines = [line.split('\t') for line in fh.read().strip().splitlines() if line.strip()]
    last = lines[-1]
    return {'timeline': int(files[-1][:8], 16), 'switch_lsn': last[1] if len(last) > 1 else None,
            'reason': last[2] if len(last) > 2 else None}


def main():
    spec = service_argument_spec()
    spec.update(
        stanza=dict(type='str', required=True), config=dict(type='path'), run_as=dict(type='str', default='postgres'),
        target_type=dict(type='str', required=True, choices=['time', 'name', 'lsn', 'xid', 'immediate']),
        target=dict(type='str'), target_action=dict(type='str', default='promote',
                                                    choices=['promote', 'pause', 'shutdown']),
        set=dict(type='str'), delta=dict(type='bool', default=True), process_max=dict(type='int', default=2),
        start=dict(type='bool', default=True), stop_running=dict(type='bool', default=False),
        overwrite_foreign=dict(type='bool', default=False), allow_outside_window=dict(type='bool', default=False),
        timeout=dict(type='int', default=600),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, required_one_of=[('data_dir', 'cluster_name')])
    p = module.params
    run = Recorder(module.run_command)
    commands = run.commands
    steps = Steps()
    try:
        layout = Layout(p['version'], p['cluster_name'], p['data_dir'], p['bin_dir'])
        data_dir = layout.data_dir
        if not data_dir:
            raise ParameterError('version', 'cluster %s is not a Debian cluster of this host and no version was given'
                                 % p['cluster_name'], 'give version (and cluster_name), or data_dir')
        if p['target_type'] != 'immediate' and not p['target']:
            raise ParameterError('target', 'a %s target needs a value' % p['target_type'], 'give target')
        target_time = pgbr.parse_target_time(p['target'], 'target') if p['target_type'] == 'time' else None
        pgbr.check_target(p['target_type'], p['target'])
        pgbr.check_set(p['set'])
        _validate.name(p['stanza'], 'stanza', 'stanza name')
        _validate.at_least(p, 'process_max')
        _validate.at_least(p, 'timeout')
        _validate.user_exists(p['run_as'], 'run_as')
        rc, out, err = run(as_user(pgbr.argv('info', p['stanza'], p['config'], {'output': 'json'}), p['run_as']))
        stanzas = [s for s in pgbr.parse_info(out) if s.get('name') == p['stanza']] if rc == 0 else []
        if not stanzas or (stanzas[0].get('status') or {}).get('code') == 1:
            raise PgopsError("parameter 'stanza': '%s' is not in the repository. Fix: check the stanza name and config"
                             % p['stanza'])
        stanza = stanzas[0]
        backups = stanza.get('backup') or []
        if not backups:
            raise PgopsError("stanza %s has no backup to restore from. Fix: take a full backup first" % p['stanza'])
        labels = [b.get('label') for b in backups]
        if p['set'] and p['set'] not in labels:
            raise ParameterError('set', 'stanza %s has no backup %r' % (p['stanza'], p['set']),
                                 'use one of %s, or leave set out' % ', '.join(labels))
        if target_time is not None and target_time > datetime.datetime.now(datetime.timezone.utc):
            raise PgopsError('the target time %s is in the future. Nothing was changed. Fix: choose a time that has '
                             'passed' % target_time)
        if target_time is not None and not p['allow_outside_window']:
            oldest = min(b['timestamp']['stop'] for b in backups)
            if target_time.timestamp() < oldest:
                raise PgopsError('the target time %s is before the end of the oldest backup (%s). Nothing was '
                                 'changed. Fix: choose a later target, or allow_outside_window=true' % (
                                     target_time, datetime.datetime.fromtimestamp(oldest, datetime.timezone.utc)))
            newest = newest_archived(run, p)
            if newest is not None and target_time.timestamp() > newest:
                raise PgopsError('the target time %s is after the newest archived WAL (written %s): recovery would end '
                                 'before it. Nothing was changed. Fix: choose an earlier target, or '
                                 'allow_outside_window=true' % (
                                     target_time, datetime.datetime.fromtimestamp(newest, datetime.timezone.utc)))
        if os.path.exists(os.path.join(data_dir, 'global', 'pg_control')):
            sysid = controldata(run, layout).get('system_identifier')
            expected = (stanza.get('db') or [{}])[-1].get('system-id')
            if sysid and expected and str(sysid) != str(expected) and not p['overwrite_foreign']:
                raise PgopsError('%s belongs to another cluster (system identifier %s, the stanza has %s). Nothing was '
                                 'changed. Fix: check data_dir, or overwrite_foreign=true to overwrite it' % (
                                     data_dir, sysid, expected))
        if (os.path.isdir(data_dir) and os.listdir(data_dir) and
                not os.path.exists(os.path.join(data_dir, 'PG_VERSION'))):
            raise PgopsError("parameter 'data_dir': %s is not empty and is not a data directory. Fix: give an empty or "
                             "new directory, or the data directory of the stopped cluster" % data_dir)
        running = postmaster_running(data_dir)
        if running and not p['stop_running']:
            raise PgopsError('the cluster in %s is running. Nothing was changed. Fix: stop it first (cluster_service '
                             'state=stopped), or stop_running=true to let this module stop it' % data_dir)
        options = {'pg1-path': data_dir, 'archive-mode': 'off', 'delta': p['delta'], 'process-max': p['process_max'],
                   'target-action': p['target_action'], 'type': p['target_type'], 'log-level-console': 'warn'}
        if p['target_type'] != 'immediate':
            # pgBackRest 2.45 selects the backup set only from a numeric offset, not ' UTC' or 'Z'
            options['target'] = pgbr.pg_time(target_time) if target_time is not None else p['target']
        if p['set']:
            options['set'] = p['set']
        command = as_user(pgbr.argv('restore', p['stanza'], p['config'], options), p['run_as'])
        backup_set = p['set'] or choose_set(backups, p['target_type'], target_time)
        if module.check_mode:
            module.exit_json(changed=True, command=command, backup_set=backup_set, would_stop=running,
                             commands=commands)
        svc = service_for(dict(p, bin_dir=layout.bin_dir), run, data_dir, timeout=p['timeout'])
        result = dict(changed=True, command=command, backup_set=backup_set, commands=commands)
        try:
            if running:
                steps.run('stop the cluster', svc.act, 'stop')
            steps.run('pgbackrest restore', _restore, run, command)
            if p['start']:
                steps.run('start the restored cluster', _start, svc, data_dir)
                if p['target_action'] == 'promote':
                    steps.run('wait for the end of recovery', wait_promoted, run, layout, data_dir, svc, p['timeout'])
                proof = history(data_dir)
                if proof:
                    proof['in_recovery'] = os.path.exists(os.path.join(data_dir, 'recovery.signal'))
                result['recovery'] = proof
        except PgopsError as exc:
            changed, state = state_after_failure(steps, running, svc, data_dir, backup_set)
            failed = PgopsError('%s. %s' % (exc.msg.rstrip('.'), state))
            failed.changed = changed
            raise failed
        result['timings'] = timings(steps)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg, commands=commands, changed=getattr(exc, 'changed', False), steps=steps.done,
                         timings=timings(steps))
    result['steps'] = steps.done
    module.exit_json(**result)


if __name__ == '__main__':
    main()
