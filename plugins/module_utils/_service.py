# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Start, stop, restart, reload and promote a cluster with systemd or without it.

``auto`` picks, in order: the ``postgresql@VERSION-NAME`` systemd unit when systemd
runs (``/run/systemd/system`` exists); Debian's ``pg_ctlcluster
--skip-systemctl-redirect`` when the cluster has a configuration under
``/etc/postgresql``; ``pg_ctl`` on the data directory otherwise. Commands are
argument lists, never shell strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, ServiceError
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import Layout
from ansible_collections.pgops.postgresql.plugins.module_utils._process import as_user, owner_of

MANAGERS = ('systemd', 'pg_ctlcluster', 'pg_ctl')
ACTIONS = ('start', 'stop', 'restart', 'reload', 'promote')
STOP_MODES = ('smart', 'fast', 'immediate')


def detect(version=None, cluster_name=None, data_dir=None, exists=os.path.exists, which=shutil.which):
    """The service manager to use for this cluster on this host."""
    debian = bool(version and cluster_name)
    if debian and exists('/run/systemd/system') and which('systemctl'):
        return 'systemd'
    if debian and which('pg_ctlcluster') and exists('/etc/postgresql/%s/%s' % (version, cluster_name)):
        return 'pg_ctlcluster'
    if data_dir:
        return 'pg_ctl'
    if debian:
        raise ParameterError('cluster_name', "no cluster %s/%s under /etc/postgresql and no data_dir given"
                             % (version, cluster_name), "create the cluster first, or give data_dir and bin_dir")
    raise ParameterError('data_dir', "neither version and cluster_name nor data_dir were given",
                         "give version and cluster_name (Debian layout) or data_dir (with bin_dir)")


def pid_alive(pid):
    """Whether the process runs (a zombie, not reaped where PID 1 does not reap, does not)."""
    try:
        os.kill(pid, 0)
    except (OSError, TypeError):
        return False
    try:
        with open('/proc/%d/stat' % pid) as fh:
            return fh.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError, IndexError):
        return True


def postmaster_running(data_dir):
    """Whether the postmaster named in ``data_dir/postmaster.pid`` runs."""
    try:
        with open(os.path.join(data_dir, 'postmaster.pid')) as fh:
            return pid_alive(int(fh.readline().strip()))
    except (IOError, OSError, ValueError):
        return False


class ClusterService(object):
    """Builds and runs the commands for one cluster. ``run`` is ``module.run_command``."""

    def __init__(self, manager, run, version=None, cluster_name=None, data_dir=None, bin_dir=None,
                 stop_mode='fast', timeout=60, log_file=None):
        if manager not in MANAGERS:
            raise ParameterError('service_manager', 'unknown manager %r' % manager, 'use one of %s' % ', '.join(MANAGERS))
        if manager in ('systemd', 'pg_ctlcluster') and not (version and cluster_name):
            raise ParameterError('cluster_name', '%s needs version and cluster_name' % manager,
                                 'give both, or use service_manager=pg_ctl with data_dir')
        if manager == 'pg_ctl' and not data_dir:
            raise ParameterError('data_dir', 'pg_ctl needs the data directory', 'give data_dir (and bin_dir)')
        self.manager = manager
        self.run = run
        self.version = version
        self.cluster_name = cluster_name
        self.data_dir = data_dir
        self.layout = Layout(version, cluster_name, data_dir, bin_dir)
        self.bin_dir = self.layout.bin_dir or ''
        self.stop_mode = stop_mode
        self.timeout = int(timeout)
        self.log_file = log_file or (os.path.join(data_dir, 'pg_ctl.log') if data_dir else None)

    @property
    def unit(self):
        return 'postgresql@%s-%s' % (self.version, self.cluster_name)

    def _pg_ctl_prefix(self):
        argv = [self.layout.binary('pg_ctl'), '-D', self.data_dir]
        if os.geteuid() == 0:
            owner = owner_of(self.data_dir)
            if owner == 'root':
                raise ServiceError("%s is owned by root and PostgreSQL refuses to run as root. Fix: chown -R "
                                   "it to the server's user (postgres)" % self.data_dir)
            argv = as_user(argv, owner)
        return argv

    def status_argv(self):
        if self.manager == 'systemd':
            return ['systemctl', 'is-active', '--quiet', self.unit]
        if self.manager == 'pg_ctlcluster':
            return ['pg_ctlcluster', '--skip-systemctl-redirect', str(self.version), self.cluster_name, 'status']
        return self._pg_ctl_prefix() + ['status']

    def argv(self, action):
        if action not in ACTIONS:
            raise ParameterError('state', 'unknown action %r' % action, 'use one of %s' % ', '.join(ACTIONS))
        if self.manager == 'systemd' and action != 'promote':
            return ['systemctl', action, self.unit]
        if self.manager in ('systemd', 'pg_ctlcluster'):
            argv = ['pg_ctlcluster', '--skip-systemctl-redirect']
            if action in ('stop', 'restart'):
                argv += ['--mode', self.stop_mode]
            return argv + [str(self.version), self.cluster_name, action]
        argv = self._pg_ctl_prefix()
        if action in ('start', 'restart'):
            argv += ['-w', '-t', str(self.timeout), '-l', self.log_file]
        elif action in ('stop', 'promote'):
            argv += ['-w', '-t', str(self.timeout)]
        if action in ('stop', 'restart'):
            argv += ['-m', self.stop_mode]
        return argv + [action]

    def is_running(self):
        if self.manager == 'pg_ctl' and not os.path.exists(os.path.join(self.data_dir, 'PG_VERSION')):
            raise ServiceError("%s is not a PostgreSQL data directory (no PG_VERSION). Fix: check data_dir"
                               % self.data_dir)
        rc, out, err = self.run(self.status_argv())
        if self.manager == 'pg_ctl' and rc == 4:
            raise ServiceError("%s is not a PostgreSQL data directory. Fix: check data_dir" % self.data_dir)
        return rc == 0

    def act(self, action):
        argv = self.argv(action)
        rc, out, err = self.run(argv)
        if rc != 0:
            detail = (err or out or '').strip().splitlines()
            raise ServiceError("'%s' failed with exit code %d: %s. Fix: read the server log%s" % (
                ' '.join(argv), rc, detail[-1] if detail else 'no output',
                ' (%s)' % self.log_file if self.manager == 'pg_ctl' else ''))
        return argv


def service_for(params, run, data_dir=None, **kwargs):
    """The ClusterService for a module's ``version``/``cluster_name``/``data_dir``/``bin_dir``/
    ``service_manager`` parameters (``data_dir`` overrides the parameter); ``run`` runs commands."""
    data_dir = data_dir or params.get('data_dir')
    manager = params.get('service_manager') or 'auto'
    if manager == 'auto':
        manager = detect(params.get('version'), params.get('cluster_name'), data_dir)
    return ClusterService(manager, run, params.get('version'), params.get('cluster_name'), data_dir,
                          params.get('bin_dir'), **kwargs)


def service_argument_spec():
    """Options that say which cluster to restart or reload (documented in the service fragment)."""
    return dict(
        version=dict(type='str'),
        cluster_name=dict(type='str'),
        data_dir=dict(type='path'),
        bin_dir=dict(type='path'),
        service_manager=dict(type='str', default='auto', choices=['auto'] + list(MANAGERS)),
    )
