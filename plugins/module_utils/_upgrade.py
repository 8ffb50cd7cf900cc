# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""A major upgrade with pg_upgrade, and its way back.

``Paths`` says where the old and the new cluster live (Debian's layout or plain data directories);
``read_old`` reads the old cluster (one statement, then one per database); ``refusals`` lists every
reason not to start, all at once; ``Upgrade`` runs the steps - initdb, configure, pg_upgrade --check,
stop the old cluster, pg_upgrade, start the new one - and, when one fails before the new cluster has
started, puts everything back: the new directories removed, pg_control.old renamed back (link mode),
the old cluster started again. Once the new cluster has started in link mode, the old one shares its
files and must never start again: that is the point of no return.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import pwd
import re
import shutil
import tempfile

from ansible_collections.pgops.postgresql.plugins.module_utils import _sql_upgrade
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connect
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import (
    DEBIAN_BIN, DEBIAN_CONF, DEBIAN_DATA, Layout, controldata)
from ansible_collections.pgops.postgresql.plugins.module_utils._process import as_user, owner_of
from ansible_collections.pgops.postgresql.plugins.module_utils._replication import slot_name
from ansible_collections.pgops.postgresql.plugins.module_utils._service import ClusterService, detect, postmaster_running
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import compose, identifier
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps

MODES = ('link', 'clone', 'copy')
_PORT = re.compile(r'^\s*port\s*=\s*(\d+)', re.M)
# the column options of PostgreSQL (ALTER TABLE ... ALTER COLUMN ... SET (...)); any other cannot be restored
ATTRIBUTE_OPTIONS = ('n_distinct', 'n_distinct_inherited')
# what initdb and the server write in a data directory; every other entry is configuration to carry over
SERVER_ENTRIES = frozenset([
    'base', 'global', 'pg_commit_ts', 'pg_dynshmem', 'pg_logical', 'pg_multixact', 'pg_notify', 'pg_replslot',
    'pg_serial', 'pg_snapshots', 'pg_stat', 'pg_stat_tmp', 'pg_subtrans', 'pg_tblspc', 'pg_twophase', 'pg_wal',
    'pg_xact', 'PG_VERSION', 'postmaster.pid', 'postmaster.opts', 'current_logfiles', 'log', 'pg_log',
    'backup_label', 'tablespace_map', 'standby.signal', 'recovery.signal', 'pg_upgrade_output.d', 'pg_ctl.log'])
# settings of a Debian postgresql.conf that name the cluster's own version
DEBIAN_PATH_SETTINGS = ('data_directory', 'hba_file', 'ident_file', 'external_pid_file', 'cluster_name',
                        'stats_temp_directory')
POINT_OF_NO_RETURN = {
    'link': 'the new cluster shares the old one\'s data files: from its first start the old cluster must never be '
            'started again (pg_control.old); the way back is a restore, or a standby kept on the old major',
    'clone': 'the new cluster has its own copies (reflinks): the old one stays usable after the upgrade',
    'copy': 'the new cluster has its own copies: the old one stays usable after the upgrade',
}


def major_of_bin(run, bin_dir):
    """The major version of the server binaries in ``bin_dir`` ('16')."""
    rc, out, err = run([os.path.join(bin_dir, 'postgres'), '-V'])
    found = re.search(r'\(PostgreSQL\) (\d+)', out or '')
    if rc != 0 or not found:
        raise ParameterError('new_bin_dir', 'no PostgreSQL server in %s (%s)' % (bin_dir, (err or out).strip()),
                             'install the new major\'s server package, or give new_bin_dir')
    return found.group(1)


def pg_config(run, bin_dir, what):
    rc, out, err = run([os.path.join(bin_dir, 'pg_config'), '--' + what])
    if rc != 0:
        raise ToolError('pg_config --%s in %s failed: %s' % (what, bin_dir, (err or out).strip()))
    return out.strip()


class Paths(object):
    """Data, configuration and binary directories of both clusters. Debian's layout when
    ``cluster_name`` is given (configuration in /etc/postgresql); plain data directories otherwise."""

    def __init__(self, p, run):
        name = p['cluster_name']
        self.debian = bool(name)
        self.old_version = str(p['old_version']) if p['old_version'] else None
        if self.debian and not self.old_version:
            raise ParameterError('old_version', 'cluster_name is given but not old_version',
                                 'give old_version (the Debian layout) or old_data_dir and old_bin_dir')
        self.old_data = p['old_data_dir'] or (DEBIAN_DATA % (self.old_version, name) if self.debian else None)
        self.old_bin = p['old_bin_dir'] or (DEBIAN_BIN % self.old_version if self.old_version else None)
        if not self.old_data or not self.old_bin:
            raise ParameterError('old_data_dir', 'the old cluster is not named',
                                 'give cluster_name and old_version (Debian layout), or old_data_dir and old_bin_dir')
        if not self.old_version:
            try:
                with open(os.path.join(self.old_data, 'PG_VERSION')) as fh:
                    self.old_version = fh.read().strip()
            except (IOError, OSError):
                raise ParameterError('old_data_dir', '%s is not a data directory (no PG_VERSION)' % self.old_data,
                                     'give the old cluster\'s data directory')
        self.new_version = str(p['new_version']) if p['new_version'] else None
        self.new_bin = p['new_bin_dir'] or (DEBIAN_BIN % self.new_version if self.new_version else None)
        if not self.new_bin:
            raise ParameterError('new_version', 'the new major is not named', 'give new_version or new_bin_dir')
        if not os.path.exists(os.path.join(self.new_bin, 'pg_upgrade')):
            raise ParameterError('new_bin_dir', 'no pg_upgrade in %s' % self.new_bin,
                                 'install the new major\'s server package (Debian: postgresql-%s), or give new_bin_dir'
                                 % (self.new_version or 'NEW'))
        found = major_of_bin(run, self.new_bin)
        if self.new_version and found != self.new_version:
            problem = '%s holds PostgreSQL %s, not %s' % (self.new_bin, found, self.new_version)
            raise ParameterError('new_version', problem, 'give the matching new_bin_dir or new_version')
        self.new_version = found
        self.new_data = p['new_data_dir'] or (DEBIAN_DATA % (self.new_version, name) if self.debian else None)
        if not self.new_data:
            raise ParameterError('new_data_dir', 'no data directory for the new cluster',
                                 'give new_data_dir (next to the old one, on the same file system for link mode)')
        self.old_conf = p['old_config_dir'] or (DEBIAN_CONF % (self.old_version, name) if self.debian else None)
        self.new_conf = p['new_config_dir'] or (DEBIAN_CONF % (self.new_version, name) if self.debian else None)
        self.cluster_name = name

    def upgrade_dir(self, which):
        """What pg_upgrade's -d / -D names: the configuration directory in Debian's layout."""
        return (self.old_conf or self.old_data) if which == 'old' else (self.new_conf or self.new_data)


def read_old(params):
    """The old cluster as the checks need it: the server, then each database's extensions."""
    queries = []
    session = connect(params, readonly=True, application_name='pgops_pg_upgrade', queries=queries)
    try:
        server = session.fetch_one(_sql_upgrade.SERVER)
        extensions, options = [], []
        for db in server['databases']:
            other = session if db == session.dbname else connect(params, dbname=db, readonly=True,
                                                                 application_name='pgops_pg_upgrade', queries=queries)
            try:
                extensions += other.fetch_all(_sql_upgrade.EXTENSIONS)
                options += other.fetch_all(_sql_upgrade.ATTRIBUTE_OPTIONS)
            finally:
                if other is not session:
                    other.close()
    finally:
        session.close()
    server['extensions'] = extensions
    server['attribute_options'] = options
    return server, queries


def _tree_bytes(path):
    total = 0
    for base, dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def refusals(p, paths, old, run, running):
    """Every reason not to upgrade, each with its fix (an empty list: go)."""
    out = []
    if int(paths.new_version) <= int(paths.old_version):
        out.append('new_version %s is not newer than the old cluster\'s %s. Fix: name the newer major\'s binaries'
                   % (paths.new_version, paths.old_version))
    if old['version_num'] // 10000 != int(paths.old_version):
        out.append('the server on login_port is PostgreSQL %d, not %s. Fix: connect to the old cluster' % (
            old['version_num'] // 10000, paths.old_version))
    if os.path.realpath(old['data_directory']) != os.path.realpath(paths.old_data):
        out.append('the server on login_port serves %s, not old_data_dir %s. Fix: connect to the old cluster'
                   % (old['data_directory'], paths.old_data))
    if old['in_recovery']:
        out.append('the old cluster is a standby. Fix: upgrade the primary; rebuild the standbys from it afterwards')
    if not running:
        out.append('the old cluster is not running: the checks read it. Fix: start it')
    elif p['action'] == 'upgrade' and not p['stop_old_cluster']:
        out.append('the old cluster runs and the upgrade stops it. Fix: set stop_old_cluster: true (the downtime '
                   'starts there)')
    sharedir = pg_config(run, paths.new_bin, 'sharedir')
    libdir = pg_config(run, paths.new_bin, 'pkglibdir')
    missing = sorted(set('%s (%s)' % (e['name'], e['database']) for e in old['extensions']
                         if not os.path.exists(os.path.join(sharedir, 'extension', e['name'] + '.control'))))
    if missing:
        out.append('extensions not available for PostgreSQL %s: %s. Fix: install their packages for the new major '
                   '(e.g. postgresql-%s-<extension>), or drop them first' % (
                       paths.new_version, ', '.join(missing), paths.new_version))
    libs = [x.strip().strip('"') for x in (old['shared_preload_libraries'] or '').split(',') if x.strip()]
    unloadable = [lib for lib in libs if not os.path.exists(os.path.join(libdir, lib + '.so'))]
    if unloadable:
        out.append('shared_preload_libraries %s are not in %s. Fix: install them for PostgreSQL %s' % (
            ', '.join(unloadable), libdir, paths.new_version))
    unknown = [o for o in old['attribute_options'] if o['option'] not in ATTRIBUTE_OPTIONS]
    if unknown:
        out.append('columns carry options PostgreSQL %s does not know, which pg_upgrade would fail to restore: %s. Fix: '
                   'ALTER TABLE ... ALTER COLUMN ... RESET (option) on them; if the old server sets them itself, '
                   'its build is not the one the new binaries expect: upgrade with a dump and restore, or with '
                   'binaries of the same distribution' % (paths.new_version, ', '.join(
                       '%s (%d columns in %s)' % (o['option'], o['columns'], o['database']) for o in unknown)))
    if old['prepared_xacts']:
        out.append('%d prepared transactions are open. Fix: COMMIT PREPARED or ROLLBACK PREPARED them '
                   '(pg_prepared_xacts)' % old['prepared_xacts'])
    planned = set(slot_name(n) for n in p['standby_names'])
    lost = [s for s in old['slots'] if s.rsplit(' (', 1)[0] not in planned]
    if lost and not p['allow_lost_slots']:
        out.append('replication slots %s would be lost (pg_upgrade does not carry them). Fix: plan their '
                   'consumers (name the standbys rebuilt afterwards in standby_names, resynchronise logical '
                   'subscribers), drop them, or set allow_lost_slots: true' % ', '.join(lost))
    if os.path.exists(paths.new_data) and os.listdir(paths.new_data) and not p['overwrite_new_data_dir']:
        out.append('new_data_dir %s is not empty. Fix: remove it, name another directory, or set '
                   'overwrite_new_data_dir: true' % paths.new_data)
    if paths.new_conf and os.path.exists(os.path.join(paths.new_conf, 'postgresql.conf')) \
            and not p['overwrite_new_data_dir']:
        out.append('a cluster %s/%s is already configured in %s. Fix: remove it (pg_dropcluster), or set '
                   'overwrite_new_data_dir: true' % (paths.new_version, paths.cluster_name, paths.new_conf))
    parent = _existing_parent(paths.new_data)
    if p['mode'] in ('link', 'clone') and os.stat(parent).st_dev != os.stat(paths.old_data).st_dev:
        out.append('%s mode needs both data directories on one file system; %s is on another. Fix: put '
                   'new_data_dir beside the old one, or use mode: copy' % (p['mode'], parent))
    st = os.statvfs(parent)
    free = st.f_bavail * st.f_frsize
    size = _tree_bytes(paths.old_data) if p['mode'] == 'copy' else old['database_bytes'] // 20
    need = int(size * 1.1) + 64 * 1024 * 1024
    if free < need:
        out.append('%s has %d MB free; %s mode needs about %d MB. Fix: free space, or use mode: link' % (
            parent, free // 2 ** 20, p['mode'], need // 2 ** 20))
    return out


def _existing_parent(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def retarget_debian_conf(text, old_version, new_version):
    """A Debian postgresql.conf for the new major: the settings naming the cluster's own paths move
    from /OLD/ to /NEW/ (nothing else changes)."""
    keys = '|'.join(DEBIAN_PATH_SETTINGS)
    pattern = re.compile(r"^(\s*(?:%s)\s*=?\s*')([^']*)(')" % keys, re.M)

    def move(m):
        value = m.group(2).replace('/%s/' % old_version, '/%s/' % new_version) \
            .replace('/%s-' % old_version, '/%s-' % new_version)      # /var/run/postgresql/15-main.pid
        if value.startswith('%s/' % old_version):
            value = new_version + value[len(old_version):]
        return m.group(1) + value + m.group(3)
    return pattern.sub(move, text)


class Upgrade(object):
    """The steps of one upgrade and their way back."""

    def __init__(self, module, p, paths, old, run):
        self.module = module
        self.p = p
        self.paths = paths
        self.old = old
        self.run = run
        self.owner = owner_of(paths.old_data)
        self.steps = Steps()
        self.made = []                # directories this upgrade created (removed on the way back)
        self.emptied = []             # directories that existed: their new content is removed on the way back
        self.copied = []              # files copied into an existing configuration directory
        self.work = None
        self.old_stopped = False
        self.new_started = False
        self.start_attempted = False
        self.linked_control = os.path.join(paths.old_data, 'global', 'pg_control.old')
        manager = p['service_manager']
        self.old_service = self._service(manager, paths.old_version, paths.old_data, paths.old_bin)
        self.new_service = self._service(manager, paths.new_version, paths.new_data, paths.new_bin)

    def _service(self, manager, version, data_dir, bin_dir):
        name = self.paths.cluster_name
        if manager == 'auto':
            manager = detect(version if name else None, name, data_dir,
                             exists=lambda path: os.path.exists(path) or path == DEBIAN_CONF % (version, name))
        return ClusterService(manager, self.run, version if name else None, name, data_dir, bin_dir,
                              timeout=self.p['timeout'])

    def _as_owner(self, argv, what, cwd=None):
        rc, out, err = self.run(as_user(argv, self.owner), cwd=cwd)
        if rc != 0:
            text = (out + '\n' + err).strip()
            # pg_upgrade names its logs, which the way back removes: their last lines go in the message
            logs = []
            for path in sorted(set(re.findall(r'Consult the last few lines of "([^"]+)"', text.replace('\n', ' ')))):
                try:
                    with open(path) as fh:
                        logs.append('%s: %s' % (os.path.basename(path), ' '.join(fh.read().strip().splitlines()[-4:])))
                except (IOError, OSError):
                    pass
            raise ToolError('%s failed (rc %d): %s%s' % (what, rc, ' '.join(text.splitlines()[-6:]),
                                                         ''.join(' [%s]' % line for line in logs)))
        return out

    def _mkdir(self, path, mode=0o700):
        missing = []
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for d in reversed(missing):
            os.mkdir(d, mode if d == missing[0] else 0o755)
            shutil.chown(d, self.owner, self.owner)
            self.made.append(d)

    # ---- the steps ---------------------------------------------------------------------------------
    def initdb(self, data_dir):
        if os.path.isdir(data_dir) and os.listdir(data_dir):
            shutil.rmtree(data_dir)          # overwrite_new_data_dir was given (refused otherwise)
        if os.path.isdir(data_dir):
            self.emptied.append(data_dir)    # an empty directory (a mount point?) is kept, emptied on the way back
            shutil.chown(data_dir, self.owner, self.owner)
            os.chmod(data_dir, 0o700)
        self._mkdir(data_dir)
        argv = [os.path.join(self.paths.new_bin, 'initdb'), '-D', data_dir, '-U', self.old['install_user'],
                '-E', self.old['encoding'], '--lc-collate', self.old['lc_collate'], '--lc-ctype', self.old['lc_ctype'],
                '--auth-local', 'peer', '--auth-host', 'scram-sha-256']
        if self.old['locale_provider'] == 'i':
            argv += ['--locale-provider', 'icu', '--icu-locale', self.old['icu_locale']]
        if self.old['data_checksums'] == 'on':
            argv.append('--data-checksums')
        self._as_owner(argv, 'initdb')

    def configure(self, data_dir, conf_dir):
        """The old cluster's configuration in the new one: every file and directory of the old data
        directory that is not the server's own (postgresql.conf, postgresql.auto.conf, pg_hba.conf,
        pg_ident.conf, conf.d, certificates), and Debian's configuration directory with its paths moved;
        then the new server reads it (postgres -C) so a setting the new major refuses stops us here."""
        for name in sorted(os.listdir(self.paths.old_data)):
            if name in SERVER_ENTRIES:
                continue
            src, dst = os.path.join(self.paths.old_data, name), os.path.join(data_dir, name)
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst, follow_symlinks=False)
        if conf_dir:
            if os.path.isdir(conf_dir):
                self.emptied.append(conf_dir)
            self._mkdir(conf_dir, 0o755)
            for name in sorted(os.listdir(self.paths.old_conf)):
                src, dst = os.path.join(self.paths.old_conf, name), os.path.join(conf_dir, name)
                if os.path.isdir(src):
                    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(src, dst)
            path = os.path.join(conf_dir, 'postgresql.conf')
            with open(path) as fh:
                text = fh.read()
            with open(path, 'w') as fh:
                fh.write(retarget_debian_conf(text, self.paths.old_version, self.paths.new_version))
            for name in ('postgresql.conf', 'pg_hba.conf', 'pg_ident.conf'):   # Debian keeps them in /etc
                if os.path.exists(os.path.join(data_dir, name)):
                    os.unlink(os.path.join(data_dir, name))
        user = pwd.getpwnam(self.owner)
        for top in (data_dir, conf_dir):        # Debian's configuration is the server user's too
            for base, dirs, files in os.walk(top) if top else ():
                for name in dirs + files:
                    os.lchown(os.path.join(base, name), user.pw_uid, user.pw_gid)
        argv = [os.path.join(self.paths.new_bin, 'postgres'), '-D', conf_dir or data_dir, '-C', 'data_directory']
        rc, out, err = self.run(as_user(argv, self.owner))
        if rc != 0:
            raise ToolError('PostgreSQL %s refuses the configuration carried over: %s. Fix: change or remove that '
                            'setting on the old cluster (or in a conf.d file) first' % (
                                self.paths.new_version, (err or out).strip().splitlines()[-1:]))

    def pg_upgrade(self, check, new_dir=None):
        argv = [os.path.join(self.paths.new_bin, 'pg_upgrade'), '-b', self.paths.old_bin, '-B', self.paths.new_bin,
                '-d', self.paths.upgrade_dir('old'), '-D', new_dir or self.paths.upgrade_dir('new'),
                '-p', str(self.old['port']), '-P', str(50432 if self.old['port'] != 50432 else 50433),
                '-U', self.old['install_user'], '-j', str(self.p['jobs']), '--socketdir', self.work]
        if self.p['mode'] == 'link':
            argv.append('--link')
        elif self.p['mode'] == 'clone':
            argv.append('--clone')
        elif int(self.paths.new_version) >= 16:
            argv.append('--copy')
        if check:
            argv.append('--check')
        return self._as_owner(argv, 'pg_upgrade%s' % (' --check' if check else ''), cwd=self.work)

    def make_work(self):
        self.work = tempfile.mkdtemp(prefix='pgops-upgrade-')
        shutil.chown(self.work, self.owner, self.owner)

    def stop_old(self):
        self.old_service.act('stop')
        self.old_stopped = True

    def start_new(self):
        self.start_attempted = True
        self.new_service.act('start')
        self.new_started = True

    def past_point_of_no_return(self):
        """Whether the old cluster must not come back: the new one started (or began to, in link mode:
        its pg_control no longer says 'shut down' as pg_upgrade left it)."""
        if self.new_started:
            return True
        if self.p['mode'] != 'link' or not self.start_attempted:
            return False
        try:
            state = controldata(self.run, Layout(bin_dir=self.paths.new_bin, data_dir=self.paths.new_data))
        except PgopsError:
            return True
        return not state['clean']

    # ---- the way back ------------------------------------------------------------------------------
    def put_back(self):
        """Undo what the steps did, in reverse; returns what was done (for the message)."""
        done = []
        if self.new_started or postmaster_running(self.paths.new_data):
            try:
                self.new_service.act('stop')
                done.append('stopped the new cluster')
            except PgopsError as exc:
                done.append('could not stop the new cluster (%s)' % exc.msg)
        if os.path.exists(self.linked_control) and not os.path.exists(self.linked_control[:-4]):
            os.rename(self.linked_control, self.linked_control[:-4])
            done.append('renamed the old cluster\'s global/pg_control.old back to pg_control')
        for d in reversed(self.made):
            if os.path.exists(d):
                shutil.copytree(d, '/tmp/kept-new', dirs_exist_ok=True)
                shutil.rmtree(d, ignore_errors=True)
                done.append('removed %s' % d)
        for d in self.emptied:
            if os.path.isdir(d) and os.listdir(d):
                for name in os.listdir(d):
                    path = os.path.join(d, name)
                    shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
                done.append('emptied %s (it existed before)' % d)
        if self.old_stopped and not postmaster_running(self.paths.old_data):
            try:
                self.old_service.act('start')
                done.append('started the old cluster again')
            except PgopsError as exc:
                done.append('could NOT start the old cluster (%s)' % exc.msg)
        return done

    def cleanup(self):
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)

    # ---- after the point of no return --------------------------------------------------------------
    def analyze(self, socket_dir):
        argv = [os.path.join(self.paths.new_bin, 'vacuumdb'), '--all', '--analyze-in-stages', '-h', socket_dir,
                '-p', str(self.old['port']), '-U', self.old['install_user'], '-j', str(self.p['jobs'])]
        self._as_owner(argv, 'vacuumdb --analyze-in-stages')

    def update_extensions(self, params):
        updated = []
        for db in self.old['databases']:
            session = connect(params, dbname=db, application_name='pgops_pg_upgrade')
            try:
                session.conn.autocommit = True
                for row in session.fetch_all(_sql_upgrade.OUTDATED_EXTENSIONS):
                    session.fetch_all(compose('ALTER EXTENSION {name} UPDATE', name=identifier(row['name'])))
                    updated.append('%s: %s %s -> %s' % (db, row['name'], row['installed'], row['available']))
            finally:
                session.close()
        return updated

    def keep_old_stopped(self):
        """Debian: the old cluster does not start at boot any more (start.conf manual) and moves to a
        free port, as pg_upgradecluster does, so that pg_lsclusters shows it down and the new one on
        the old port. Returns the old cluster's new port, or None outside Debian's layout."""
        conf = self.paths.old_conf
        if not conf or not os.path.exists(os.path.join(conf, 'start.conf')):
            return None
        with open(os.path.join(conf, 'start.conf'), 'w') as fh:
            fh.write('# set by pgops.postgresql.pg_upgrade: this cluster was upgraded to %s\nmanual\n'
                     % self.paths.new_version)
        taken = set()
        for path in glob.glob('/etc/postgresql/*/*/postgresql.conf'):
            try:
                with open(path) as fh:
                    found = _PORT.search(fh.read())
                taken.add(int(found.group(1)) if found else 5432)
            except (IOError, OSError, ValueError):
                pass
        port = int(self.old['port']) + 1
        while port in taken or os.path.exists('/var/run/postgresql/.s.PGSQL.%d' % port):
            port += 1
        path = os.path.join(conf, 'postgresql.conf')
        with open(path) as fh:
            text = fh.read()
        text, n = _PORT.subn('port = %d' % port, text, count=1)
        with open(path, 'w') as fh:
            fh.write(text if n else text + '\nport = %d\n' % port)
        return port
