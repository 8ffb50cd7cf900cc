# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Restore a pgBackRest backup into a scratch directory and run a throwaway server on it.

The scratch server listens on a unix socket in its own directory only (no TCP), runs with
``archive_mode=off`` (pgBackRest's ``--archive-mode=off`` too), so it can never archive into
the production stanza, and is stopped and removed by ``cleanup`` whatever happened.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import shutil
import socket

from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbackrest as pgbr
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._process import as_user

SCRATCH_CONF = """# Written by pgops.postgresql for a scratch restore; nothing here is production.
port = {port}
listen_addresses = ''
unix_socket_directories = '{socket_dir}'
archive_mode = off
hba_file = '{hba}'
ident_file = '{ident}'
logging_collector = off
"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Scratch(object):
    """One scratch restore: paths, commands, and the cleanup that always runs."""

    def __init__(self, root, stanza, run, user, bin_dir, port=0):
        self.root = root
        self.stanza = stanza
        self.run = run
        self.user = user
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.base = os.path.join(root, 'pgops-restore-%s-%d' % (stanza, os.getpid()))
        self.data_dir = os.path.join(self.base, 'data')
        self.socket_dir = self.base
        self.log_file = os.path.join(self.base, 'server.log')
        self.started = False

    def check_target(self):
        if not os.path.isdir(self.root):
            raise ParameterError('scratch_root', '%s does not exist' % self.root, 'create it or choose another directory')
        if os.path.exists(self.base) and os.listdir(self.base):
            raise ParameterError('scratch_root', '%s is not empty' % self.base,
                                 'remove what a previous run left, or choose another scratch_root')

    def restore_argv(self, config, options):
        opts = {'pg1-path': self.data_dir, 'archive-mode': 'off', 'log-level-console': 'warn'}
        opts.update(options)
        return as_user(pgbr.argv('restore', self.stanza, config, opts), self.user)

    def prepare(self):
        os.makedirs(self.base, 0o700)
        uid = pwd.getpwnam(self.user).pw_uid if os.geteuid() == 0 else os.geteuid()
        gid = pwd.getpwnam(self.user).pw_gid if os.geteuid() == 0 else os.getegid()
        os.chown(self.base, uid, gid)
        return uid, gid

    def configure(self, uid, gid):
        """Scratch configuration: socket only, archiving off, trust on its private socket only.

        max_connections and the other hot-standby parameters keep the production values:
        recovery refuses to run with lower ones.
        """
        hba = os.path.join(self.base, 'pg_hba.conf')
        ident = os.path.join(self.base, 'pg_ident.conf')
        with open(hba, 'w') as fh:
            fh.write('local all all trust\n')
        with open(ident, 'w') as fh:
            fh.write('')
        conf = os.path.join(self.data_dir, 'postgresql.conf')
        existing = ''
        if os.path.exists(conf):
            with open(conf) as fh:
                existing = fh.read()
        with open(conf, 'w') as fh:
            scratch = SCRATCH_CONF.format(port=self.port, socket_dir=self.socket_dir, hba=hba, ident=ident)
            fh.write(existing + '\n' + scratch)
        for path in (hba, ident, conf):
            os.chown(path, uid, gid)
            os.chmod(path, 0o600)

    def start_argv(self, timeout):
        return as_user([os.path.join(self.bin_dir, 'pg_ctl'), '-D', self.data_dir, '-l', self.log_file, '-w', '-t',
                        str(int(timeout)), '-o', '-c archive_mode=off', 'start'], self.user)

    def start(self, timeout):
        rc, out, err = self.run(self.start_argv(timeout))
        self.started = True
        if rc != 0:
            tail = ''
            if os.path.exists(self.log_file):
                with open(self.log_file, errors='replace') as fh:
                    tail = ' '.join(fh.read().strip().splitlines()[-3:])
            raise ToolError('the restored server did not start: %s. Fix: read %s' % (tail or (err or out).strip(),
                                                                                     self.log_file))

    def cleanup(self):
        if self.started:
            self.run(as_user([os.path.join(self.bin_dir, 'pg_ctl'), '-D', self.data_dir, '-m', 'immediate', '-w',
                              'stop'], self.user))
        shutil.rmtree(self.base, ignore_errors=True)
        return not os.path.exists(self.base)
