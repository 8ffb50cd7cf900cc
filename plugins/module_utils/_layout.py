# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Where a cluster's binaries, configuration and data live, derived from its major version.

No major version is assumed: it is given by the caller, found by Debian's ``pg_lsclusters``
for a named cluster, or read from the data directory's ``PG_VERSION``. Debian's layout is
``/usr/lib/postgresql/MAJOR/bin``, ``/etc/postgresql/MAJOR/NAME`` and
``/var/lib/postgresql/MAJOR/NAME``; any path given explicitly wins.
Also here: reading ``pg_controldata`` (one parser for every module).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, ToolError

DEBIAN_BIN = '/usr/lib/postgresql/%s/bin'
DEBIAN_CONF = '/etc/postgresql/%s/%s'
DEBIAN_DATA = '/var/lib/postgresql/%s/%s'


def major_of(data_dir):
    """The major version written in ``data_dir/PG_VERSION`` ('16'), or None."""
    if not data_dir:
        return None
    try:
        with open(os.path.join(data_dir, 'PG_VERSION')) as fh:
            return fh.read().strip() or None
    except (IOError, OSError):
        return None


def debian_clusters(which=shutil.which):
    """Debian's clusters as ``pg_lsclusters --json`` lists them (empty where it does not exist)."""
    if not which('pg_lsclusters'):
        return []
    try:
        out = subprocess.run(['pg_lsclusters', '--json'], capture_output=True, text=True, check=False, timeout=30)
        return json.loads(out.stdout or '[]') if out.returncode == 0 else []
    except (OSError, ValueError, subprocess.SubprocessError):
        return []


class Layout(object):
    """The paths of one cluster. ``version`` is the major version as text, or None when unknown."""

    def __init__(self, version=None, cluster_name=None, data_dir=None, bin_dir=None, config_file=None,
                 clusters=debian_clusters):
        version = str(version) if version else None
        if cluster_name and not version and not data_dir:
            named = [c for c in clusters() if c.get('cluster') == cluster_name]
            if len(named) == 1:
                version = str(named[0]['version'])
                data_dir = named[0].get('pgdata')
        if not data_dir and version and cluster_name:
            data_dir = DEBIAN_DATA % (version, cluster_name)
        self.data_dir = data_dir
        self.version = version or major_of(data_dir)
        self.cluster_name = cluster_name
        self.bin_dir = bin_dir or (DEBIAN_BIN % self.version if self.version else None)
        conf = config_file or (os.path.join(DEBIAN_CONF % (self.version, cluster_name), 'postgresql.conf')
                               if self.version and cluster_name else None)
        self.config_file = conf
        self._given_config = bool(config_file)

    def binary(self, name):
        """Full path of a server binary; refused with a fix when the directory is unknown or missing."""
        if not self.bin_dir:
            raise ParameterError('bin_dir', 'the major version of the cluster is unknown (no version given and no '
                                 'PG_VERSION in %s)' % (self.data_dir or 'the data directory'),
                                 'give version (the Debian layout) or bin_dir')
        if not os.path.isdir(self.bin_dir):
            if self.version:
                raise ParameterError('bin_dir', '%s does not exist (PostgreSQL %s binaries)' % (
                    self.bin_dir, self.version), 'install postgresql-%s, or give bin_dir' % self.version)
            raise ParameterError('bin_dir', '%s does not exist' % self.bin_dir,
                                 'give the directory holding pg_ctl and the other server binaries')
        return os.path.join(self.bin_dir, name)

    def existing_config_file(self):
        """The configuration file of this cluster, when it exists. One derived from version and
        cluster_name counts only when it names this data directory: a Debian cluster of the same name
        elsewhere on the host is another cluster, and its file would point a server at its data."""
        if not self.config_file or not os.path.exists(self.config_file):
            return None
        if self._given_config or not self.data_dir:
            return self.config_file
        named = _data_directory_of(self.config_file)
        if named and os.path.realpath(named) != os.path.realpath(self.data_dir):
            return None
        return self.config_file


_DATA_DIRECTORY = re.compile(r"^\s*data_directory\s*=?\s*'([^']*)'", re.M)


def _data_directory_of(config_file):
    try:
        with open(config_file) as fh:
            found = _DATA_DIRECTORY.search(fh.read())
    except (IOError, OSError):
        return None
    return found.group(1) if found else None


_CONTROL_KEYS = {
    'Database system identifier': 'system_identifier',
    'Database cluster state': 'state',
    'Latest checkpoint location': 'checkpoint_lsn',
    "Latest checkpoint's REDO location": 'redo_lsn',
    "Latest checkpoint's TimeLineID": 'timeline',
    'Minimum recovery ending location': 'min_recovery_lsn',
    'wal_log_hints setting': 'wal_log_hints',
    'Data page checksum version': 'checksum_version',
}


def parse_controldata(text):
    """The fields of ``pg_controldata`` output the modules use."""
    out = {}
    for line in (text or '').splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip() in _CONTROL_KEYS:
            out[_CONTROL_KEYS[key.strip()]] = value.strip()
    for key in ('timeline', 'checksum_version'):
        if key in out:
            out[key] = int(out[key])
    out['clean'] = out.get('state') in ('shut down', 'shut down in recovery')
    out['rewindable'] = out.get('wal_log_hints') == 'on' or out.get('checksum_version', 0) > 0
    return out


def controldata(run, layout, what=None):
    """``pg_controldata`` of the layout's data directory, parsed; ``run`` is a command runner."""
    rc, out, err = run([layout.binary('pg_controldata'), layout.data_dir])
    if rc != 0:
        raise ToolError('pg_controldata %s failed: %s. Fix: check data_dir%s' % (
            layout.data_dir, (err or out or '').strip(), ' of %s' % what if what else ''))
    return parse_controldata(out)
