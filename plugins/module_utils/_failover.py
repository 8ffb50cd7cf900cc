# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The nodes of a replicated cluster and the actions on them: read the topology, promote,
stop, rewind, rejoin and repoint, each step timed.

A node is reached over libpq for everything SQL can do (facts, pg_promote, ALTER SYSTEM,
slots). Service control and files (stop, pg_controldata, pg_rewind, standby.signal) need
the node's data directory on the host the module runs on: such nodes are ``local``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import time

from ansible_collections.pgops.postgresql.plugins.module_utils import _replication as rep
from ansible_collections.pgops.postgresql.plugins.module_utils import _sql_replication as q
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connect, require_psycopg2
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import (
    ConnectionFailed, ParameterError, PgopsError, ToolError)
from ansible_collections.pgops.postgresql.plugins.module_utils._files import read_text, remove
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import Layout, controldata
from ansible_collections.pgops.postgresql.plugins.module_utils._process import as_user, owner_of
from ansible_collections.pgops.postgresql.plugins.module_utils._service import postmaster_running, service_for
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import compose, identifier, literal
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps, wait_until

try:
    import psycopg2
    import psycopg2.extras
except ImportError:  # reported by require_psycopg2()
    pass


def masked(text):
    """A conninfo or message with every password replaced by stars."""
    return re.sub(r"(password=)('(?:[^'\\]|\\.)*'|\S+)", r'\1********', text or '')


def replication_connection(conninfo, what='the primary'):
    """A physical replication connection, as a standby opens it (only the replication role)."""
    require_psycopg2()
    try:
        return psycopg2.connect(conninfo, connection_factory=psycopg2.extras.PhysicalReplicationConnection)
    except psycopg2.Error as exc:
        raise ToolError('the replication connection to %s failed: %s. Fix: check the address and port, the '
                        'replication role and its password, the sslmode and CA, and that pg_hba.conf of %s allows '
                        'replication from this host' % (what, masked(str(exc).strip()), what))


def check_replication_login(conninfo, what):
    """Open a replication connection and identify the system: what a standby does first."""
    conn = replication_connection(conninfo, what)
    try:
        cur = conn.cursor()
        cur.execute('IDENTIFY_SYSTEM')
        return cur.fetchone()
    finally:
        conn.close()


NODE_SPEC = dict(
    name=dict(type='str', required=True),
    host=dict(type='str', default=''),
    port=dict(type='int', default=5432),
    replication_host=dict(type='str'),
    local=dict(type='bool', default=False),
    data_dir=dict(type='path'),
    version=dict(type='str'),
    cluster_name=dict(type='str'),
    bin_dir=dict(type='path'),
    config_file=dict(type='path'),
    service_manager=dict(type='str', default='auto', choices=['auto', 'systemd', 'pg_ctlcluster', 'pg_ctl']),
)


class Node(object):
    def __init__(self, spec, params, run):
        self.name = spec['name']
        self.spec = spec
        self.run = run
        self.port = spec['port']
        self.params = dict(params, login_host=spec['host'], login_port=spec['port'], login_unix_socket='')
        host = spec['host'] or ''
        self.replication_host = spec.get('replication_host') or (host if host and not host.startswith('/') else None)
        self.local = spec['local']
        self.layout = Layout(spec.get('version'), spec.get('cluster_name'), spec.get('data_dir'), spec.get('bin_dir'),
                             spec.get('config_file'))
        self.data_dir = self.layout.data_dir
        self.bin_dir = self.layout.bin_dir
        self.config_file = self.layout.existing_config_file()
        self.facts = None

    # -- SQL
    def session(self, readonly=False):
        s = connect(self.params, readonly=readonly, application_name='pgops_failover')
        if not readonly:
            s.conn.autocommit = True
        return s

    def sql(self, statement, args=None):
        s = self.session()
        try:
            return s.fetch_all(statement, args)
        finally:
            s.close()

    def read_facts(self):
        try:
            s = self.session(readonly=True)
        except ConnectionFailed as exc:
            self.facts = {'reachable': False, 'error': exc.msg, 'port': self.port}
            return self.facts
        try:
            row = s.fetch_one(q.NODE_FACTS)
        finally:
            s.close()
        addresses = [a for a in (self.replication_host, self.spec['host']) if a]
        row.update(reachable=True, port=self.port, addresses=addresses)
        self.facts = row
        return row

    def alter_system(self, settings):
        s = self.session()
        try:
            for key in sorted(settings):
                if settings[key] is None:
                    s.fetch_all(compose('ALTER SYSTEM RESET {k}', k=identifier(key)))
                else:
                    s.fetch_all(compose('ALTER SYSTEM SET {k} = {v}', k=identifier(key), v=literal(settings[key])))
            s.fetch_all(q.RELOAD)
        finally:
            s.close()

    def ensure_slot(self, name):
        existing = dict((r['slot_name'], r['active']) for r in self.sql(q.SLOTS))
        if name not in existing:
            self.sql(q.CREATE_SLOT, (name,))
            return True
        return False

    # -- local files and service
    def require_local(self, why):
        if not self.local:
            raise ParameterError('nodes', '%s must %s, but it is not local to this host' % (self.name, why),
                                 'run the task on %s (delegate_to) and mark it local: true' % self.name)
        if not self.data_dir:
            raise ParameterError('nodes', '%s has no data_dir (nor version and cluster_name)' % self.name,
                                 'give data_dir, or version and cluster_name for the Debian layout')

    def owner(self):
        return owner_of(self.data_dir)

    def service(self, stop_mode='fast', timeout=60):
        return service_for(self.spec, self.run, self.data_dir, stop_mode=stop_mode, timeout=timeout)

    def postmaster_running(self):
        return postmaster_running(self.data_dir)

    def controldata(self):
        return controldata(self.run, self.layout, self.name)

    def tool(self, argv, what, data=None, env=None):
        rc, out, err = self.run(as_user(argv, self.owner()), data=data, environ_update=env or {})
        if rc != 0:
            lines = (err or out or '').strip().splitlines()
            raise ToolError('%s failed on %s (exit %d): %s' % (what, self.name, rc, lines[-1] if lines else 'no output'))
        return (out or '') + (err or '')

    def finish_crash_recovery(self):
        """Single-user start so the WAL is replayed: pg_rewind needs a cleanly shut down target,
        and its own attempt fails when postgresql.conf lives outside the data directory."""
        argv = [self.layout.binary('postgres'), '--single', '-D', self.data_dir]  # with fsync: this is the data
        if self.config_file:
            argv += ['-c', 'config_file=%s' % self.config_file]
        # A single-user server refuses standby mode: a standby.signal (an old primary kept from
        # starting as a second one) is held aside for the replay and put back in every case.
        signal = os.path.join(self.data_dir, 'standby.signal')
        held = signal + '.pgops-held'
        if os.path.exists(signal):
            os.rename(signal, held)
        try:
            self.tool(argv + ['template1'], 'crash recovery (postgres --single)', data=' \n')
        finally:
            if os.path.exists(held):
                os.rename(held, signal)

    def saved_config(self):
        return saved_config(self.data_dir)

    def restore_config(self, files):
        restore_config(self.data_dir, files)

    def write_standby_config(self, settings):
        write_standby_files(self.data_dir, settings)


def saved_config(data_dir):
    """Configuration files inside a data directory: pg_rewind and pg_basebackup copy the
    source's over them (postgresql.auto.conf is edited afterwards instead)."""
    files = {}
    for path in glob.glob(os.path.join(data_dir, '*.conf')) + glob.glob(os.path.join(data_dir, 'conf.d', '*')):
        if os.path.basename(path) != 'postgresql.auto.conf' and os.path.isfile(path):
            with open(path, 'rb') as fh:
                files[os.path.relpath(path, data_dir)] = fh.read()
    return files


def restore_config(data_dir, files):
    """Put ``saved_config`` files back, into ``data_dir`` (the same or a new copy)."""
    st = os.stat(data_dir)
    for name, content in files.items():
        path = os.path.join(data_dir, name)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), 0o700)
            os.chown(os.path.dirname(path), st.st_uid, st.st_gid)
        with open(path, 'wb') as fh:
            fh.write(content)
        os.chown(path, st.st_uid, st.st_gid)


def write_standby_files(data_dir, settings):
    """``settings`` into postgresql.auto.conf (the way ALTER SYSTEM writes it) and standby.signal,
    owned by the data directory's owner, mode 0600."""
    path = os.path.join(data_dir, 'postgresql.auto.conf')
    st = os.stat(data_dir)
    text = rep.auto_conf_set(read_text(path) or '', settings)
    for name, content in (('postgresql.auto.conf', text), ('standby.signal', '')):
        target = os.path.join(data_dir, name)
        with open(target, 'w') as fh:
            fh.write(content)
        os.chown(target, st.st_uid, st.st_gid)
        os.chmod(target, 0o600)


def keep_as_standby(node):
    """A stopped old primary gets a standby.signal once another node is the primary: started by
    hand, by a reboot or by systemd, it then waits in recovery instead of taking writes as a
    second primary. Returns what it did, for the message."""
    if node is None or not node.local or not node.data_dir or node.postmaster_running():
        return ''
    path = os.path.join(node.data_dir, 'standby.signal')
    if os.path.exists(path):
        return ''
    st = os.stat(node.data_dir)
    with open(path, 'w'):
        pass
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o600)
    return ' %s got a standby.signal, so it cannot start as a second primary.' % node.name


class Topology(object):
    """All nodes, the module's options, and the actions."""

    def __init__(self, nodes, params, run):
        names = [n['name'] for n in nodes]
        dup = sorted(set(n for n in names if names.count(n) > 1))
        if dup:
            raise ParameterError('nodes', 'node names must be unique; repeated: %s' % ', '.join(dup),
                                 'give every node its own name')
        self.nodes = dict((n['name'], Node(n, params, run)) for n in nodes)
        self.order = names
        self.p = params
        self.steps = Steps()
        self.warnings = []

    def facts(self):
        return dict((n, self.nodes[n].read_facts()) for n in self.order)

    def replication_conninfo(self, source, for_node):
        p = self.p
        if not p.get('replication_password') and not p.get('replication_passfile'):
            raise ParameterError('replication_password', 'is empty, and %s needs it to stream from %s' % (
                for_node, source.name), 'give the replication role password (from a vault), or replication_passfile')
        if not source.replication_host:
            raise ParameterError('nodes', '%s has no replication_host (its host is a unix socket)' % source.name,
                                 'give the address standbys reach it at as replication_host')
        sslmode = p.get('replication_ssl_mode') or ('verify-full' if p.get('replication_ca_cert') else 'require')
        return rep.conninfo(host=source.replication_host, port=source.port, user=p['replication_user'],
                            password=p.get('replication_password'), passfile=p.get('replication_passfile'),
                            sslmode=sslmode, sslrootcert=p.get('replication_ca_cert'), application_name=for_node,
                            target_session_attrs=None)

    def admin_conninfo(self, node):
        """Without the password: commands get it in PGPASSWORD (admin_env), never on their command line."""
        kw = dict(host=node.spec['host'], port=node.port, user=self.p['login_user'], dbname=self.p['login_db'],
                  sslmode=self.p.get('ssl_mode'))
        return rep.conninfo(**kw)

    def admin_env(self):
        return {'PGPASSWORD': self.p['login_password']} if self.p.get('login_password') else {}

    # -- building blocks, each one step
    def clear_sync_names(self, node, timeout):
        """A candidate that inherited synchronous_standby_names would make its first commits wait for
        standbys that are not there. It is cleared well before the promotion (a standby ignores it),
        and the promotion waits until the reload took effect: a reload milliseconds before
        pg_promote() can delay the promotion by wal_retrieve_retry_interval."""
        if not node.facts.get('synchronous_standby_names'):
            return

        def _clear():
            node.alter_system({'synchronous_standby_names': ''})
            wait_until(lambda: node.sql(q.SYNC_NAMES)[0]['value'] == '', timeout,
                       'the reload of synchronous_standby_names on %s' % node.name, interval=0.01)
            node.facts['synchronous_standby_names'] = ''
        self.steps.run('clear synchronous_standby_names on %s' % node.name, _clear)

    def promote(self, node, timeout):
        def _promote():
            row = node.sql(q.PROMOTE, (int(timeout),))[0]
            if not row['promoted']:
                raise ToolError('pg_promote on %s did not finish within %d s. Fix: read its server log' % (
                    node.name, timeout))
        self.steps.run('promote %s' % node.name, _promote)
        return self.steps.run('verify %s accepts writes' % node.name,
                              wait_until, lambda: node.sql(q.WRITE_CHECK)[0], timeout, 'a write on %s' % node.name)

    def streaming_from(self, node, primary, timeout):
        def _check():
            node.read_facts()
            return node.facts.get('reachable') and rep.streams_from(node.facts, primary.facts)
        wait_until(_check, timeout, '%s streaming from %s' % (node.name, primary.name), interval=0.1)

    def repoint(self, node, primary, timeout):
        """A running standby follows ``primary`` from now on (reload, no restart)."""
        def _repoint():
            primary.ensure_slot(rep.slot_name(node.name))
            node.alter_system({'primary_conninfo': self.replication_conninfo(primary, node.name),
                               'primary_slot_name': rep.slot_name(node.name)})
            self.streaming_from(node, primary, timeout)
        self.steps.run('repoint %s to %s' % (node.name, primary.name), _repoint)

    def rejoin(self, node, primary, timeout, force=False, reclone=False):
        """Turn ``node`` (local, stopped or stopped here with force) into a standby of ``primary``."""
        node.require_local('be rewound and restarted')
        conninfo = self.replication_conninfo(primary, node.name)
        svc = node.service(timeout=timeout)
        result = {'rewound': False, 'recloned': False, 'crash_recovery': False}
        if node.postmaster_running():
            if not force:
                raise PgopsError('%s is running. Nothing was changed. Fix: stop it first, or force=true to let this '
                                 'module stop it' % node.name)
            self.steps.run('stop %s' % node.name, svc.act, 'stop')
        control = node.controldata()
        if primary.facts.get('system_identifier') and control.get('system_identifier') != str(
                primary.facts['system_identifier']):
            raise PgopsError('%s belongs to another cluster (system identifier %s, %s has %s). Nothing was changed. '
                             'Fix: check the nodes list' % (node.name, control.get('system_identifier'),
                                                            primary.name, primary.facts['system_identifier']))
        if not control['clean']:
            pidfile = os.path.join(node.data_dir, 'postmaster.pid')
            if os.path.exists(pidfile):
                # Its process is gone (checked above); where PID 1 does not reap, the dead
                # postmaster is a zombie whose pid still answers and would block the start.
                os.unlink(pidfile)
            self.steps.run('finish crash recovery of %s' % node.name, node.finish_crash_recovery)
            result['crash_recovery'] = True
        saved = node.saved_config()
        # A just promoted primary's pg_control still names the old timeline until its first
        # checkpoint, and pg_rewind would then see nothing to do.
        self.steps.run('CHECKPOINT on %s' % primary.name, primary.sql, q.CHECKPOINT)
        rewind = [node.layout.binary('pg_rewind'), '--target-pgdata=%s' % node.data_dir,
                  '--source-server=%s' % self.admin_conninfo(primary)]
        standby_config = {'primary_conninfo': conninfo, 'primary_slot_name': rep.slot_name(node.name),
                          'restore_command': None}
        try:
            out = self.steps.run('pg_rewind %s from %s' % (node.name, primary.name), node.tool, rewind, 'pg_rewind',
                                 env=self.admin_env())
            result['rewound'] = 'no rewind required' not in (out or '')
        except ToolError as exc:
            if not reclone:
                node.restore_config(saved)
                raise ToolError('%s Fix: check wal_log_hints or data checksums on %s, or reclone=true to copy it '
                                'anew with pg_basebackup' % (exc.msg, node.name))
            self.steps.run('re-clone %s from %s' % (node.name, primary.name), self.reclone, node, primary)
            result['recloned'] = True
        except PgopsError:
            # pg_rewind ran, then the step failed: the node holds the primary's configuration files.
            # Give it back its own and make it a standby, so it can never start as a second primary.
            node.restore_config(saved)
            node.write_standby_config(standby_config)
            raise
        node.restore_config(saved)
        primary.ensure_slot(rep.slot_name(node.name))
        node.write_standby_config(standby_config)
        self.steps.run('start %s as a standby' % node.name, svc.act, 'start')
        self.steps.run('wait until %s streams from %s' % (node.name, primary.name),
                       self.streaming_from, node, primary, timeout)
        stale = [r['slot_name'] for r in node.sql(q.SLOTS) if not r['active']
                 and r['slot_name'] in [rep.slot_name(n) for n in self.order]]
        for slot in stale:
            node.sql(q.DROP_SLOT, (slot,))
        result['dropped_slots'] = stale
        return result

    def reclone(self, node, primary):
        for entry in os.listdir(node.data_dir):
            remove(os.path.join(node.data_dir, entry))
        node.tool([node.layout.binary('pg_basebackup'), '-D', node.data_dir, '-X', 'stream', '-c', 'fast',
                   '-d', self.replication_conninfo(primary, node.name)], 'pg_basebackup')


# -- the actions: each returns the module result; check mode returns the plan only

def _facts(topo, exclude=()):
    facts = topo.facts()
    primary = rep.find_primary(dict((n, f) for n, f in facts.items() if n not in exclude))
    rep.annotate(facts, primary)
    return facts, primary


def summarize(topo):
    """Every node read now, as status returns it, and the nodes that accept writes."""
    facts = topo.facts()
    primaries = sorted(n for n, f in facts.items() if rep.node_role(f) == 'primary')
    rep.annotate(facts, primaries[0] if len(primaries) == 1 else None)
    return [rep.summary(n, facts[n]) for n in topo.order], primaries


def status(topo, opts, check_mode):
    nodes, primaries = summarize(topo)
    for n in nodes:
        if n['role'] == 'standby' and primaries and not n.get('upstream'):
            topo.warnings.append('%s is a standby but does not stream from %s' % (n['name'], primaries[0]))
        if n['role'] == 'unreachable':
            topo.warnings.append('%s is unreachable: %s' % (n['name'], n.get('error')))
    if len(primaries) > 1:
        topo.warnings.append('split brain: %s all accept writes' % ', '.join(primaries))
    return dict(changed=False, nodes=nodes, primary=primaries[0] if len(primaries) == 1 else None,
                split_brain=len(primaries) > 1)


def _stop_and_catch_up(topo, old, candidate, timeout, catchup_timeout, force=False, stop_mode='fast'):
    """Stop ``old`` and wait until ``candidate`` has replayed its shutdown checkpoint; on timeout
    start ``old`` again (nothing else changed) unless ``force``."""
    svc = old.service(stop_mode=stop_mode, timeout=timeout)
    topo.steps.run('stop %s (%s)' % (old.name, stop_mode), svc.act, 'stop')
    control = old.controldata()
    end = rep.lsn_to_int(control.get('checkpoint_lsn')) if control['clean'] else None
    if end is None:
        return None

    def caught_up():
        return rep.lsn_to_int(candidate.sql(q.REPLAY_LSN)[0]['replay_lsn'] or '0/0') > end
    try:
        topo.steps.run('wait until %s replays %s' % (candidate.name, control['checkpoint_lsn']),
                       wait_until, caught_up, catchup_timeout, '%s replaying %s' % (
                           candidate.name, control['checkpoint_lsn']))
    except ToolError as exc:
        if force:
            topo.warnings.append(exc.msg + ' (continued: force=true)')
            return control['checkpoint_lsn']
        topo.steps.run('start %s again' % old.name, svc.act, 'start')
        raise ToolError('%s; %s was started again as the primary and nothing else changed. Fix: check the '
                        "standby's replication" % (exc.msg, old.name))
    return control['checkpoint_lsn']


def _others(facts, exclude):
    return [n for n, f in facts.items() if n not in exclude and rep.node_role(f) == 'standby']


def _read(topo, opts):
    """Facts, the reachable primary, and the result to return at once when the candidate
    already is the primary (a repeated switchover or failover changes nothing)."""
    facts, primary = _facts(topo)
    wanted = opts.get('candidate')
    if wanted and primary == wanted:
        return facts, primary, dict(changed=False, primary=wanted, old_primary=opts.get('primary'), plan=[],
                                    msg='%s is already the primary' % wanted)
    if opts.get('primary') and primary and primary != opts['primary']:
        rep.find_primary(facts, opts['primary'])
    return facts, primary, None


def _undo_before_promotion(topo, old, new, sync_before, exc, action='switchover', restart_old=True):
    """A switchover (or a failover that fenced a healthy primary) that failed before the candidate
    became the primary is undone: the old primary is started again (it is the only one) and the
    candidate gets back its settings. Once the candidate is out of recovery (even if its step
    reported a failure), nothing is undone: a second primary must never be started; the message
    says the change happened."""
    try:
        promoted = not new.sql(q.IN_RECOVERY)[0]['in_recovery']
    except PgopsError:
        promoted = None
    old_name = old.name if old is not None else 'the old primary'
    if promoted:
        raise PgopsError('%s. %s is out of recovery: it is the primary now, and %s was not started again.%s Fix: '
                         'rejoin %s (action=rejoin)' % (exc.msg.rstrip('.'), new.name, old_name, keep_as_standby(old),
                                                        old_name))
    if promoted is None:
        raise PgopsError('%s. %s' % (exc.msg.rstrip('.'), (
            '%s is out of recovery: it is the primary now, and %s was not started again. Fix: rejoin %s '
            '(action=rejoin)' % (new.name, old_name, old_name)) if promoted else (
            '%s can not be reached, so whether it was promoted is unknown; %s was not started again. Fix: look '
            'at both servers before starting either' % (new.name, old_name))))
    back = []
    try:
        stopped_here = old is not None and any(s['step'].startswith('stop %s ' % old.name) for s in topo.steps.done)
        if restart_old and stopped_here and old.local and old.data_dir and not old.postmaster_running():
            old.service().act('start')
            back.append('started %s again as the primary' % old.name)
        if sync_before and any(s['step'].startswith('clear synchronous_standby_names') for s in topo.steps.done):
            new.alter_system({'synchronous_standby_names': sync_before})
            back.append('set synchronous_standby_names on %s back' % new.name)
    except PgopsError as again:
        back.append('putting back stopped at an error: %s' % again.msg)
    left = ''
    if old is not None and not restart_old and old.local and old.data_dir and not old.postmaster_running():
        left = ' No primary runs: %s is stopped (fenced) and was not started again. Fix: run the failover again, ' \
               'or start %s if it is healthy' % (old.name, old.name)
    raise PgopsError('%s. The %s did not happen: %s is still a standby. Put back: %s.%s' % (
        exc.msg.rstrip('.'), action, new.name, '; '.join(back) or 'nothing needed it', left))


def switchover(topo, opts, check_mode):
    facts, primary_name, done = _read(topo, opts)
    if done:
        return done
    wanted = opts.get('candidate')
    if not primary_name:
        raise rep.TopologyError('no reachable primary among the nodes. Nothing was changed. Fix: use action=failover')
    candidate_name = wanted or rep.best_streaming_standby(facts, primary_name)
    if not candidate_name:
        raise rep.TopologyError('no standby streams from %s. Nothing was changed. Fix: build one (standby role)'
                                % primary_name)
    hard, bounds = rep.switchover_problems(facts, primary_name, candidate_name, opts['max_lag_bytes'],
                                           opts['max_transaction_seconds'])
    if hard or (bounds and not opts['force']):
        raise rep.TopologyError('switchover refused, nothing was changed: ' + '; '.join(hard + bounds))
    topo.warnings.extend(bounds)
    old, new = topo.nodes[primary_name], topo.nodes[candidate_name]
    old.require_local('be stopped and rejoined')
    conninfo = topo.replication_conninfo(new, old.name)
    if opts['rejoin'] and not check_mode:
        # This host is the old primary's: the login it will stream with after the switch is tried now,
        # before anything changes (ssl mode, CA, password, pg_hba for replication from here).
        try:
            check_replication_login(conninfo, new.name)
        except ToolError as exc:
            raise rep.TopologyError('switchover refused, nothing was changed: %s would not be able to stream from '
                                    '%s after the switch: %s' % (old.name, new.name, exc.msg))
    others = [n for n in _others(facts, (candidate_name,)) if n != primary_name]
    plan = rep.switchover_plan(primary_name, candidate_name, others, opts['rejoin'])
    result = dict(changed=True, plan=plan, old_primary=primary_name, primary=candidate_name)
    if check_mode:
        return result
    t0 = time.time()
    sync_before = new.facts.get('synchronous_standby_names')
    try:
        topo.clear_sync_names(new, opts['timeout'])
        topo.steps.run('CHECKPOINT on %s' % old.name, old.sql, q.CHECKPOINT)
        t_down = time.time()
        result['shutdown_checkpoint_lsn'] = _stop_and_catch_up(topo, old, new, opts['timeout'],
                                                               opts['catchup_timeout'])
        result['write'] = topo.promote(new, opts['timeout'])
    except PgopsError as exc:
        _undo_before_promotion(topo, old, new, sync_before, exc)
        raise
    result['write_unavailable_seconds'] = round(time.time() - t_down, 3)
    try:
        for name in others:
            topo.repoint(topo.nodes[name], new, opts['timeout'])
        if opts['rejoin']:
            result['rejoin'] = topo.rejoin(old, new, opts['timeout'])
        else:
            keep_as_standby(old)
        sync = opts.get('synchronous_standby_names')
        if sync is None:
            sync = rep.swap_sync_names(old.facts.get('synchronous_standby_names'), new.name, old.name,
                                       old_follows=opts['rejoin'])
        if sync:
            topo.steps.run('restore synchronous_standby_names on %s' % new.name, new.alter_system,
                           {'synchronous_standby_names': sync})
    except PgopsError as exc:
        raise PgopsError(exc.msg.rstrip('.') + '.' + keep_as_standby(old))
    result['total_seconds'] = round(time.time() - t0, 3)
    return result


def failover(topo, opts, check_mode):
    t_read = time.time()
    facts, alive, done = _read(topo, opts)
    if done:
        return done
    wanted = opts.get('candidate')
    old_name = opts.get('primary') or alive or rep.failed_primary(facts)
    fence, stop_mode = None, 'fast'
    old = topo.nodes.get(old_name) if old_name else None
    if alive:
        if old.local and not opts.get('fence_running_primary'):
            raise rep.TopologyError(
                '%s is reachable and accepts writes: a failover would stop it. Nothing was changed. Fix: for a '
                'planned change use action=switchover (no transaction lost); to stop it and fail over anyway, '
                'fence_running_primary=true' % alive)
        if old.local:
            fence = 'stop it (fast) and wait until the candidate has its shutdown checkpoint'
        elif opts['force']:
            topo.warnings.append('%s still accepts writes and was not fenced (force=true)' % alive)
        else:
            raise rep.TopologyError(
                '%s is reachable and still the primary, and it cannot be fenced from here (not local). Nothing was '
                'changed. Fix: for a planned change use action=switchover; otherwise run this on its host '
                '(local: true) or stop it, or force=true when it is fenced by other means' % alive)
    elif old is not None and old.local and old.data_dir and old.postmaster_running():
        fence, stop_mode = 'stop it (immediate): its postmaster runs but does not answer', 'immediate'
    elif old is not None:
        topo.warnings.append('%s is %s: it was not fenced; make sure it stays down, then rejoin it' % (
            old.name, 'down' if old.local else 'unreachable'))
    reference = facts[alive]['current_lsn'] if alive else None
    candidate_name, lag = rep.choose_failover_candidate(facts, reference, wanted)
    if lag is not None and lag > opts['max_lag_bytes'] and not opts['force']:
        raise rep.TopologyError(
            'failover refused, nothing was changed: %s is %d bytes behind the most advanced position known (bound '
            'max_lag_bytes=%d); promoting it would lose those transactions. Fix: choose the most advanced standby '
            '(leave candidate out), wait, or force=true to accept the loss'
            % (candidate_name, lag, opts['max_lag_bytes']))
    new = topo.nodes[candidate_name]
    own = rep.standby_lsn(facts[candidate_name])
    others = _others(facts, (candidate_name,))
    behind = [n for n in others if (rep.standby_lsn(facts[n]) or 0) <= (own or 0)]
    ahead = [n for n in others if n not in behind]
    if behind:
        topo.replication_conninfo(new, behind[0])
    plan = rep.failover_plan(old_name, fence, candidate_name, behind)
    plan += ['%s has WAL the new primary lacks: rejoin it (action=rejoin)' % n for n in ahead]
    result = dict(changed=True, plan=plan, old_primary=old_name, primary=candidate_name, lag_bytes=lag,
                  fenced=fence, needs_rejoin=ahead + ([old_name] if old_name else []))
    if check_mode:
        return result
    t0 = time.time()
    sync_before = new.facts.get('synchronous_standby_names')
    try:
        topo.clear_sync_names(new, opts['timeout'])
        t_fence = time.time()
        if fence:
            result['shutdown_checkpoint_lsn'] = _stop_and_catch_up(topo, old, new, opts['timeout'],
                                                                   opts['catchup_timeout'], opts['force'], stop_mode)
        result['write'] = topo.promote(new, opts['timeout'])
    except PgopsError as exc:
        # A healthy primary fenced on request is started again; one whose postmaster did not answer
        # (stopped immediate) is left down, and the message says no primary runs.
        _undo_before_promotion(topo, old, new, sync_before, exc, 'failover', restart_old=stop_mode == 'fast')
    result['write_unavailable_seconds'] = round(time.time() - t0, 3)
    # From the last time the primary was seen accepting writes: the fencing stop of a reachable
    # primary, else the last commit the candidate replayed (an upper bound on an idle primary).
    replay_age = facts[candidate_name].get('replay_age_seconds')
    last_write = t_fence if fence else (t_read - replay_age if replay_age is not None else None)
    result['unavailable_since_last_write_seconds'] = round(time.time() - last_write, 3) if last_write else None
    try:
        keep_as_standby(old)
        for name in behind:
            topo.repoint(topo.nodes[name], new, opts['timeout'])
    except PgopsError as exc:
        raise PgopsError(exc.msg.rstrip('.') + '.' + keep_as_standby(old))
    result['total_seconds'] = round(time.time() - t0, 3)
    return result


def rejoin(topo, opts, check_mode):
    name = opts.get('node')
    if not name or name not in topo.nodes:
        raise ParameterError('node', '%r is not one of the nodes' % name, 'name the node to rejoin')
    facts, primary_name = _facts(topo, exclude=(name,))
    if opts.get('primary') and primary_name != opts['primary']:
        rep.find_primary(dict((n, f) for n, f in facts.items() if n != name), opts['primary'])
    if not primary_name:
        raise rep.TopologyError('no reachable primary to rejoin %s to. Nothing was changed. Fix: promote one first '
                                '(action=failover)' % name)
    node, primary = topo.nodes[name], topo.nodes[primary_name]
    f = facts[name]
    if f.get('reachable') and f.get('in_recovery') and rep.streams_from(f, facts[primary_name]):
        return dict(changed=False, primary=primary_name, plan=[], msg='%s already streams from %s' % (
            name, primary_name))
    node.require_local('be rewound and restarted')
    topo.replication_conninfo(primary, name)
    running = node.postmaster_running()
    if running and not opts['force']:
        raise PgopsError('%s is running (as %s). Nothing was changed. Fix: stop it first (cluster_service '
                         'state=stopped), or force=true to let this module stop it' % (name, rep.node_role(f)))
    control = node.controldata() if not running else {'clean': True}
    plan = (['stop %s (fast)' % name] if running else []) + (
        [] if control['clean'] else ['finish crash recovery of %s (postgres --single)' % name]) + [
        'pg_rewind %s from %s%s' % (name, primary_name, ', re-clone with pg_basebackup if that fails'
                                    if opts['reclone'] else ''),
        'write primary_conninfo, primary_slot_name %s and standby.signal' % rep.slot_name(name),
        'start %s and wait until it streams from %s' % (name, primary_name)]
    result = dict(changed=True, plan=plan, primary=primary_name)
    if check_mode:
        return result
    t0 = time.time()
    result['rejoin'] = topo.rejoin(node, primary, opts['timeout'], force=opts['force'], reclone=opts['reclone'])
    result['total_seconds'] = round(time.time() - t0, 3)
    return result


ACTIONS = {'status': status, 'switchover': switchover, 'failover': failover, 'rejoin': rejoin}
