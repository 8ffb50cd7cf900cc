# SPDX-License-Identifier: GPL-3.0-or-later
"""A real pgBackRest stanza for a harness cluster: local posix repository in a temp dir."""

import os
import shutil
import subprocess
import tempfile

from tests.harness.pgcluster import PgCluster


class Stanza(object):
    def __init__(self, name='demo', compress='lz4', settings=None):
        self.name = name
        self.base = tempfile.mkdtemp(prefix='pgops-pgbr-')
        os.chmod(self.base, 0o755)
        self.repo = os.path.join(self.base, 'repo')
        os.makedirs(self.repo)
        if os.geteuid() == 0:
            shutil.chown(self.base, 'postgres')
            shutil.chown(self.repo, 'postgres')
        self.config = os.path.join(self.base, 'pgbackrest.conf')
        conf = {'archive_mode': 'on', 'wal_level': 'replica',
                'archive_command': 'pgbackrest --config=%s --stanza=%s archive-push %%p' % (self.config, name)}
        conf.update(settings or {})
        self.cluster = PgCluster(settings=conf)
        with open(self.config, 'w') as fh:
            fh.write('[global]\nrepo1-path=%s\nrepo1-retention-full=2\nlog-path=%s\nlock-path=%s\nspool-path=%s\n'
                     'compress-type=%s\nstart-fast=y\n\n[%s]\npg1-path=%s\npg1-port=%d\npg1-socket-path=%s\n' % (
                         self.repo, self.base, self.base, self.base, compress, name, self.cluster.data_dir,
                         self.cluster.port, self.cluster.socket_dir))
        os.chmod(self.config, 0o644)

    def start(self):
        self.cluster.start()
        self.run('stanza-create')
        return self

    def run(self, *args, check=True):
        argv = ['pgbackrest', '--config=' + self.config, '--stanza=' + self.name] + list(args)
        if os.geteuid() == 0:
            argv = ['runuser', '-u', 'postgres', '--'] + argv
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError('pgbackrest %s failed: %s %s' % (' '.join(args), proc.stdout, proc.stderr))
        return proc

    def backup(self, kind='full'):
        return self.run('--type=%s' % kind, 'backup')

    def module_args(self, **extra):
        args = self.cluster.login(stanza=self.name, config=self.config)
        args.update(extra)
        return args

    def destroy(self):
        self.cluster.destroy()
        shutil.rmtree(self.base, ignore_errors=True)
