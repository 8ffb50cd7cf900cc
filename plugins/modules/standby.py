#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: standby
short_description: Make this host's cluster a streaming standby of a primary
version_added: 0.2.0
description:
  - Turns the cluster of O(data_dir) (or of the Debian cluster O(version)/O(cluster_name)) into a
    streaming standby of the primary at O(primary_host):O(primary_port), in one task - the physical
    slot on the primary, a copy of the primary (C(pg_basebackup), or a pgBackRest standby restore),
    C(primary_conninfo) and C(primary_slot_name) in C(postgresql.auto.conf), C(standby.signal), the
    start, and a wait until the standby streams from that primary.
  - The slot is created through the replication connection, so only the replication role is needed
    on the primary. It is named after O(application_name) the way the failover module names slots
    (lower case, C([a-z0-9_])).
  - All or nothing. The copy is made beside the data directory and swapped in only when it is
    complete; the previous data directory is removed only once the new standby streams. When a step
    fails, the previous data directory, its running state and a slot created by this run are put
    back, and the message says what changed, what was put back and in which state the cluster is.
  - A cluster that is already a standby (it has C(standby.signal)) is not copied again - its
    connection settings are corrected when they differ (then reloaded), it is started when it is
    stopped, and the module waits until it streams.
  - Refusals, each lifted by its own option - a data directory that holds a cluster that is not a
    standby (O(replace_data)); a running cluster that has to stop for the copy (O(stop_running)).
  - Configuration files inside the data directory (C(postgresql.conf), C(pg_hba.conf),
    C(pg_ident.conf), C(conf.d/)) are kept across the copy. C(ssl_*) settings the copy brings in
    C(postgresql.auto.conf) are removed when a file they name does not exist on this host (TLS of
    this node is the C(ssl) role's).
  - The password is given to C(pg_basebackup) in its environment, never on its command line; the
    returned commands hold no secret.
  - The login options reach this standby itself (its unix socket), to read C(pg_stat_wal_receiver).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.service
options:
  primary_host:
    description: Address this host reaches the primary at (C(host) of C(primary_conninfo)).
    type: str
    required: true
  primary_port:
    description: Port of the primary.
    type: int
    default: 5432
  application_name:
    description:
      - The name the primary sees this standby by (C(application_name)), usually the inventory
        host name. It names the slot, and C(synchronous_standby_names) of the primary lists it.
    type: str
    required: true
  replication_user:
    description: The replication role on the primary.
    type: str
    default: replicator
  replication_password:
    description: Its password (from a vault). Required unless O(replication_passfile) is given.
    type: str
  replication_passfile:
    description: A libpq password file readable by the server's user, instead of O(replication_password).
    type: path
  replication_ssl_mode:
    description:
      - C(sslmode) of the replication connection. Defaults to V(verify-full) when
        O(replication_ca_cert) is given, else V(require).
    type: str
    choices: [require, verify-ca, verify-full]
  replication_ca_cert:
    description: CA certificate file on this host that verifies the primary (C(sslrootcert)).
    type: path
  method:
    description:
      - How the copy is made. V(basebackup) streams it from the primary with C(pg_basebackup);
        V(pgbackrest) restores the newest backup of O(pgbackrest_stanza) with C(--type=standby)
        (the WAL since then comes from the archive, then from streaming).
    type: str
    choices: [basebackup, pgbackrest]
    default: basebackup
  pgbackrest_stanza:
    description: The stanza to restore from, with O(method=pgbackrest).
    type: str
  replace_data:
    description:
      - Copy the primary over a data directory that holds a cluster that is not a standby (no
        C(standby.signal)), for example a former primary or a cluster created empty for its
        configuration. Its data is destroyed once the new standby streams.
      - A former primary of the same cluster is better rejoined (module P(pgops.postgresql.failover#module),
        action C(rejoin)), which keeps its data and copies only what differs.
    type: bool
    default: false
  stop_running:
    description: Stop the cluster running in the data directory when it has to be copied anew.
    type: bool
    default: false
  config_from:
    description:
      - A data directory whose configuration files (C(postgresql.conf), C(pg_hba.conf), C(pg_ident.conf),
        C(conf.d/)) go into the copy when O(data_dir) holds no cluster to keep them from - the standby's
        previous cluster of the old major after a major upgrade, say (C(playbooks/upgrade_major.yml)).
    type: path
  timeout:
    description: Seconds to wait for the start and until the standby streams.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description: Returns the plan (the steps a real run takes) and changes nothing.
  diff_mode:
    support: full
    description: The connection settings before and after, the password masked.
notes:
  - The copy needs as much free space again beside the data directory until the swap.
  - Tablespaces outside the data directory are not supported by the copy.
seealso:
  - module: pgops.postgresql.failover
  - module: pgops.postgresql.cluster_service
'''

EXAMPLES = r'''
- name: Make db2 a standby of db1 (the role pgops.postgresql.standby calls this)
  pgops.postgresql.standby:
    version: "16"
    cluster_name: main
    primary_host: 10.0.0.1
    application_name: db2
    replication_password: "{{ vault_replication_password }}"
    replication_ca_cert: /etc/postgresql/ca.crt
    login_unix_socket: /var/run/postgresql

- name: Rebuild a broken standby from the backups, stopping it first
  pgops.postgresql.standby:
    data_dir: /srv/pg/16/main
    bin_dir: /usr/lib/postgresql/16/bin
    service_manager: pg_ctl
    primary_host: 10.0.0.1
    application_name: db3
    replication_password: "{{ vault_replication_password }}"
    method: pgbackrest
    pgbackrest_stanza: main
    replace_data: true
    stop_running: true
'''

RETURN = r'''
plan:
  description: The steps of the run, in order (in check mode, the steps a real run would take).
  returned: always
  type: list
  elements: str
copied:
  description: Whether the data directory was copied anew.
  returned: always
  type: bool
slot_name:
  description: The physical slot on the primary this standby streams through.
  returned: always
  type: str
  sample: db2
slot_created:
  description: Whether this run created the slot.
  returned: always
  type: bool
tls_settings_removed:
  description: The C(ssl*) settings removed from the copy's C(postgresql.auto.conf) (files not on this host).
  returned: always
  type: list
  elements: str
commands:
  description: The commands run, as argument lists (no secret in them).
  returned: always
  type: list
  elements: list
steps:
  description: Each step taken with its duration in seconds.
  returned: when not in check mode
  type: list
  elements: dict
'''

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _replication as rep
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    connect, connection_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._failover import (
    masked, replication_connection, restore_config, saved_config, write_standby_files)
from ansible_collections.pgops.postgresql.plugins.module_utils._files import read_text, remove
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import Layout
from ansible_collections.pgops.postgresql.plugins.module_utils._process import Recorder, owner_of
from ansible_collections.pgops.postgresql.plugins.module_utils._service import (
    postmaster_running, service_argument_spec, service_for)
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps, wait_until

try:
    import psycopg2
except ImportError:  # reported by require_psycopg2()
    pass

RECEIVER = "SELECT status, sender_port FROM pg_stat_wal_receiver"
SSL_FILE = re.compile(r"^\s*(ssl_(?:cert|key|ca|crl|dh_params)_file)\s*=\s*'((?:[^']|'')*)'", re.M)


HOST = re.compile(r'^[A-Za-z0-9_.:/%-]+$')


class Plan(object):
    """What a run does, decided and validated before anything changes."""

    def __init__(self, p):
        if not p['replication_password'] and not p['replication_passfile']:
            raise ParameterError('replication_password', 'is empty', 'give the replication role password (from a '
                                 'vault), or replication_passfile')
        if p['method'] == 'pgbackrest' and not p['pgbackrest_stanza']:
            raise ParameterError('pgbackrest_stanza', 'is required with method=pgbackrest', 'name the stanza')
        if p['timeout'] <= 0:
            raise ParameterError('timeout', 'must be a positive number of seconds', 'give for example 120')
        if not 0 < p['primary_port'] < 65536:
            raise ParameterError('primary_port', '%d is not a TCP port' % p['primary_port'], 'give 1 to 65535')
        # Each goes into primary_conninfo in postgresql.auto.conf: a newline there stops the server.
        for opt in ('primary_host', 'application_name', 'replication_user', 'replication_passfile',
                    'replication_ca_cert', 'pgbackrest_stanza'):
            _validate.one_line(p[opt], opt)
        if not HOST.match(p['primary_host']):
            raise ParameterError('primary_host', '%r is neither a host name, an IP address nor a socket directory'
                                 % p['primary_host'], 'give the address the primary is reached at')
        # the application_name is also a word of the primary's synchronous_standby_names
        _validate.name(p['application_name'], 'application_name', 'application_name (the inventory host name)')
        if p['replication_password'] is not None and '\n' in p['replication_password']:
            raise ParameterError('replication_password', 'contains a newline', 'give the password on one line')
        if p['replication_ca_cert'] and not os.path.isfile(p['replication_ca_cert']):
            raise ParameterError('replication_ca_cert', '%s does not exist' % p['replication_ca_cert'],
                                 'copy the CA certificate to this host first')
        if p['config_from'] and not os.path.isfile(os.path.join(p['config_from'], 'postgresql.conf')):
            raise ParameterError('config_from', '%s holds no postgresql.conf' % p['config_from'],
                                 'name the data directory whose configuration the standby takes')
        self.slot = rep.slot_name(p['application_name'] or '')
        if not self.slot.strip('_'):
            raise ParameterError('application_name', '%r gives no usable slot name' % p['application_name'],
                                 'use the inventory host name (letters, digits, _)')
        self.layout = Layout(p['version'], p['cluster_name'], p['data_dir'], p['bin_dir'])
        if not self.layout.data_dir:
            raise ParameterError('data_dir', 'the data directory is unknown', 'give data_dir, or version and '
                                 'cluster_name of a Debian cluster')
        self.data_dir = os.path.normpath(self.layout.data_dir)
        parent, base = os.path.split(self.data_dir)
        if not os.path.isdir(parent):
            raise ParameterError('data_dir', 'the directory %s above %s does not exist' % (parent, self.data_dir),
                                 'create it (owned by postgres), or check the path')
        self.new_dir = os.path.join(parent, '.%s.pgops-new' % base)
        self.old_dir = os.path.join(parent, '.%s.pgops-old' % base)
        sslmode = p['replication_ssl_mode'] or ('verify-full' if p['replication_ca_cert'] else 'require')
        common = dict(host=p['primary_host'], port=p['primary_port'], user=p['replication_user'],
                      passfile=p['replication_passfile'], sslmode=sslmode, sslrootcert=p['replication_ca_cert'],
                      application_name=p['application_name'])
        self.conninfo = rep.conninfo(password=p['replication_password'], **common)
        self.conninfo_public = rep.conninfo(**common)  # on command lines: the password goes in PGPASSWORD
        self.settings = {'primary_conninfo': self.conninfo, 'primary_slot_name': self.slot}
        self.has_cluster = os.path.exists(os.path.join(self.data_dir, 'PG_VERSION'))
        self.is_standby = os.path.exists(os.path.join(self.data_dir, 'standby.signal'))
        self.running = postmaster_running(self.data_dir)
        self.copy = not (self.has_cluster and self.is_standby)
        if self.copy and self.has_cluster and not p['replace_data']:
            raise PgopsError('%s holds a cluster that is not a standby (no standby.signal): it may be a former '
                             'primary with data of its own. Nothing was changed. Fix: rejoin it (failover '
                             'action=rejoin, playbooks/rejoin.yml), or replace_data=true to copy the primary over '
                             'it (its data is destroyed)' % self.data_dir)
        if self.copy and self.running and not p['stop_running']:
            raise PgopsError('%s is running and has to be copied anew. Nothing was changed. Fix: stop it first '
                             '(cluster_service state=stopped), or stop_running=true' % self.data_dir)
        if self.copy and p['method'] == 'basebackup':
            self.layout.binary('pg_basebackup')  # refused now when the binaries are missing
        self.owner = owner_of(self.data_dir if os.path.exists(self.data_dir) else parent)
        if self.owner == 'root':
            self.owner = 'postgres'
        self.conf_before = read_text(os.path.join(self.data_dir, 'postgresql.auto.conf')) or ''
        self.conf_after = rep.auto_conf_set('' if self.copy else self.conf_before, self.settings)
        current = rep.auto_conf_values(self.conf_before)
        self.conf_changes = not self.copy and any(current.get(k) != str(v) for k, v in self.settings.items())

    def steps(self, p):
        where = '%s:%s' % (p['primary_host'], p['primary_port'])
        out = ['create the physical slot %s on %s unless it exists' % (self.slot, where)]
        if not self.copy:
            if self.conf_changes:
                out.append('write primary_conninfo and primary_slot_name %s' % self.slot)
                if self.running:
                    out.append('reload the standby')
            if not self.running:
                out.append('start the standby')
            return out + ['wait until it streams from %s' % where]
        if self.running:
            out.append('stop %s' % self.data_dir)
        if p['method'] == 'basebackup':
            out.append('copy %s with pg_basebackup into %s' % (where, self.new_dir))
        else:
            out.append('restore the newest backup of stanza %s as a standby into %s' % (
                p['pgbackrest_stanza'], self.new_dir))
        if self.has_cluster:
            out.append('keep the configuration files of %s' % self.data_dir)
        elif p['config_from']:
            out.append('take the configuration files of %s' % p['config_from'])
        out += ['write primary_conninfo, primary_slot_name %s and standby.signal' % self.slot,
                'swap the copy in for %s' % self.data_dir, 'start the standby',
                'wait until it streams from %s' % where]
        if os.path.exists(self.data_dir):
            out.append('remove the previous data directory')
        return out


def ensure_slot(conninfo, slot):
    """Create the physical slot (reserving WAL now); False when it exists already."""
    conn = replication_connection(conninfo)
    try:
        cur = conn.cursor()
        try:
            cur.execute('CREATE_REPLICATION_SLOT "%s" PHYSICAL RESERVE_WAL' % slot)  # slot: [a-z0-9_] only
            return True
        except psycopg2.Error as exc:
            if getattr(exc, 'pgcode', None) == '42710':  # duplicate_object: it exists
                return False
            raise ToolError('creating the slot %s on the primary failed: %s' % (slot, str(exc).strip()))
    finally:
        conn.close()


def drop_slot(conninfo, slot):
    conn = replication_connection(conninfo)
    try:
        conn.cursor().execute('DROP_REPLICATION_SLOT "%s"' % slot)
    finally:
        conn.close()


def streaming(params, primary_port):
    """True once this standby's WAL receiver streams from the primary's port."""
    session = connect(params, readonly=True, application_name='pgops_standby')
    try:
        row = session.fetch_one(RECEIVER, {})
    finally:
        session.close()
    return bool(row) and row['status'] == 'streaming' and int(row['sender_port'] or 0) == int(primary_port)


def drop_missing_tls(data_dir):
    """Remove the ssl* settings of postgresql.auto.conf when a file they name is not on this host."""
    path = os.path.join(data_dir, 'postgresql.auto.conf')
    text = read_text(path) or ''
    named = [(k, v.replace("''", "'")) for k, v in SSL_FILE.findall(text)]
    if all(not v or os.path.exists(os.path.join(data_dir, v)) for k, v in named):
        return []
    keys = sorted(set(re.findall(r'^\s*(ssl\w*)\s*=', text, re.M)))
    st = os.stat(path)
    with open(path, 'w') as fh:
        fh.write(rep.auto_conf_set(text, dict((k, None) for k in keys)))
    os.chown(path, st.st_uid, st.st_gid)
    return keys


class Run(object):
    """The real run; ``done`` keeps what changed, for putting it back."""

    def __init__(self, module, plan):
        self.p = module.params
        self.plan = plan
        self.recorder = Recorder(module.run_command)
        self.service = service_for(self.p, self.recorder, data_dir=plan.data_dir, timeout=self.p['timeout'])
        self.steps = Steps()
        self.done = []
        self.result = dict(slot_created=False, copied=False, tls_settings_removed=[])

    def as_owner(self, argv, **kw):
        rc, out, err = self.recorder(argv, user=self.plan.owner, **kw)
        if rc != 0:
            detail = masked((err or out or '').strip()[-600:])
            raise ToolError('%s failed (exit code %d): %s' % (os.path.basename(argv[0]), rc, detail))
        return out

    # Each step records what it changes before it reports back, so a step that did its work and then
    # failed (a timeout, a lost connection) is put back too.
    def _slot(self):
        if ensure_slot(self.plan.conninfo, self.plan.slot):
            self.result['slot_created'] = True
            self.done.append('created the slot %s' % self.plan.slot)

    def _write_conf(self):
        self.done.append('wrote postgresql.auto.conf')
        write_standby_files(self.plan.data_dir, self.plan.settings)

    def _start(self):
        self.done.append('started the standby')
        self.service.act('start')

    def _swap(self):
        plan = self.plan
        if os.path.exists(plan.data_dir):
            remove(plan.old_dir)
            os.rename(plan.data_dir, plan.old_dir)
        self.done.append('swapped the copy in')
        os.rename(plan.new_dir, plan.data_dir)

    def go(self):
        plan = self.plan
        self.steps.run('slot %s on the primary' % plan.slot, self._slot)
        if plan.copy:
            self.copy()
            return
        if plan.conf_changes:
            self.steps.run('write postgresql.auto.conf', self._write_conf)
            if plan.running:
                self.steps.run('reload the standby', self.service.act, 'reload')
        if not plan.running:
            self.steps.run('start the standby', self._start)
        self.wait()

    def copy(self):
        plan, p = self.plan, self.p
        if plan.running:
            self.done.append('stopped the cluster')
            self.steps.run('stop %s' % plan.data_dir, self.service.act, 'stop')
        remove(plan.new_dir)  # a copy a failed earlier run left (this module's own name)
        os.mkdir(plan.new_dir, 0o700)
        shutil.chown(plan.new_dir, plan.owner, plan.owner)
        self.done.append('made the copy %s' % plan.new_dir)
        if p['method'] == 'basebackup':
            env = {'PGPASSWORD': p['replication_password']} if p['replication_password'] else {}
            argv = [plan.layout.binary('pg_basebackup'), '-D', plan.new_dir, '-X', 'stream', '-c', 'fast',
                    '-S', plan.slot, '-d', plan.conninfo_public]
            self.steps.run('pg_basebackup', self.as_owner, argv, environ_update=env)
        else:
            argv = ['pgbackrest', '--stanza=%s' % p['pgbackrest_stanza'], '--type=standby',
                    '--pg1-path=%s' % plan.new_dir, '--log-level-console=warn', 'restore']
            self.steps.run('pgbackrest restore', self.as_owner, argv)
        if plan.has_cluster:
            restore_config(plan.new_dir, saved_config(plan.data_dir))
        elif p['config_from']:
            restore_config(plan.new_dir, saved_config(p['config_from']))
        self.result['tls_settings_removed'] = drop_missing_tls(plan.new_dir)
        write_standby_files(plan.new_dir, plan.settings)
        self.steps.run('swap the copy in', self._swap)
        self.steps.run('start the standby', self._start)
        self.wait()
        self.result['copied'] = True
        remove(plan.old_dir)

    def wait(self):
        where = '%s:%s' % (self.p['primary_host'], self.p['primary_port'])
        self.steps.run('wait until it streams from %s' % where, wait_until,
                       lambda: streaming(self.p, self.p['primary_port']), self.p['timeout'],
                       'streaming from %s' % where, 0.5)

    def put_back(self):
        """Undo what this run changed, newest first: what was put back, and the cluster's state."""
        plan = self.plan
        back = []
        try:
            if 'started the standby' in self.done and postmaster_running(plan.data_dir):
                self.service.act('stop')
                back.append('stopped the new standby')
            if 'swapped the copy in' in self.done:
                remove(plan.data_dir)
                if os.path.exists(plan.old_dir):
                    os.rename(plan.old_dir, plan.data_dir)
                    back.append('put the previous data directory back')
                else:
                    back.append('removed the copy')
            elif os.path.exists(plan.new_dir) and any(d.startswith('made the copy') for d in self.done):
                remove(plan.new_dir)
                back.append('removed the incomplete copy')
            if 'wrote postgresql.auto.conf' in self.done:
                with open(os.path.join(plan.data_dir, 'postgresql.auto.conf'), 'w') as fh:
                    fh.write(plan.conf_before)
                back.append('restored postgresql.auto.conf')
                if plan.running and postmaster_running(plan.data_dir):
                    self.service.act('reload')
                    back[-1] += ' (reloaded)'
            if plan.running and not postmaster_running(plan.data_dir):
                self.service.act('start')
                back.append('started the previous cluster again')
            if self.result['slot_created']:
                drop_slot(plan.conninfo, plan.slot)
                back.append('dropped the slot %s' % plan.slot)
        except (PgopsError, OSError) as exc:
            back.append('putting back stopped at an error: %s' % getattr(exc, 'msg', exc))
        return back, 'running' if postmaster_running(plan.data_dir) else 'stopped'


def main():
    spec = connection_argument_spec()
    spec.update(service_argument_spec())
    spec.update(
        primary_host=dict(type='str', required=True),
        primary_port=dict(type='int', default=5432),
        application_name=dict(type='str', required=True),
        replication_user=dict(type='str', default='replicator'),
        replication_password=dict(type='str', no_log=True),
        replication_passfile=dict(type='path'),
        replication_ssl_mode=dict(type='str', choices=['require', 'verify-ca', 'verify-full']),
        replication_ca_cert=dict(type='path'),
        method=dict(type='str', default='basebackup', choices=['basebackup', 'pgbackrest']),
        pgbackrest_stanza=dict(type='str'),
        replace_data=dict(type='bool', default=False),
        stop_running=dict(type='bool', default=False),
        config_from=dict(type='path'),
        timeout=dict(type='int', default=120),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        plan = Plan(module.params)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    steps = plan.steps(module.params)
    result = dict(plan=steps, slot_name=plan.slot, copied=False, slot_created=False, tls_settings_removed=[],
                  commands=[], changed=plan.copy or plan.conf_changes or not plan.running)
    if module._diff:
        result['diff'] = dict(before_header='postgresql.auto.conf', after_header='postgresql.auto.conf',
                              before=masked(plan.conf_before), after=masked(plan.conf_after))
    if module.check_mode:
        module.exit_json(**result)
    run = Run(module, plan)
    try:
        run.go()
    except PgopsError as exc:
        back, state = run.put_back()
        module.fail_json(msg='%s. Changed before the failure: %s. Put back: %s. The cluster in %s is %s.' % (
            exc.msg.rstrip('.'), ', '.join(run.done) or 'nothing', ', '.join(back) or 'nothing',
            plan.data_dir, state), plan=steps, steps=run.steps.done, commands=run.recorder.commands)
    result.update(run.result)
    result['changed'] = bool(run.done)
    result['steps'] = run.steps.done
    result['commands'] = run.recorder.commands
    module.exit_json(**result)


if __name__ == '__main__':
    main()
