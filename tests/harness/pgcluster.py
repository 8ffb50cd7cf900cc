# SPDX-License-Identifier: GPL-3.0-or-later
"""Throwaway PostgreSQL clusters for tests and benchmarks.

initdb into a temporary directory, a free TCP port on 127.0.0.1 and a unix
socket in the same temporary directory: nothing depends on what else runs on
the machine. As root, the server programs run as the ``postgres`` OS user.
"""

import contextlib
import fcntl
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, 'build', 'collections')


def pg_bin_dir(version='15'):
    """Directory of the PostgreSQL server programs (PGOPS_TEST_PG_BIN overrides)."""
    candidate = os.environ.get('PGOPS_TEST_PG_BIN') or '/usr/lib/postgresql/%s/bin' % version
    if not os.path.exists(os.path.join(candidate, 'initdb')):
        raise RuntimeError('no initdb in %s: run `make system-packages` (bindep.txt installs '
                           'postgresql-%s)' % (candidate, version))
    return candidate


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class PgCluster(object):
    """One cluster. ``start()`` initialises it on first use."""

    def __init__(self, settings=None, version='15', checksums=True, base_dir=None, password='pgops-test',
                 bin_dir=None):
        self.bin_dir = bin_dir or pg_bin_dir(version)
        self.base = base_dir or tempfile.mkdtemp(prefix='pgops-test-')
        os.chmod(self.base, 0o755)
        self.data_dir = os.path.join(self.base, 'data')
        self.socket_dir = self.base
        self.log_file = os.path.join(self.base, 'server.log')
        self.port = free_port()
        self.settings = dict(settings or {})
        self.checksums = checksums
        self.password = password
        self.conf_d = os.path.join(self.data_dir, 'conf.d')
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            pw = pwd.getpwnam('postgres')
            os.chown(self.base, pw.pw_uid, pw.pw_gid)

    # -- process helpers
    def _cmd(self, argv):
        return (['runuser', '-u', 'postgres', '--'] + argv) if self._as_postgres else argv

    def run(self, argv, check=True, **kw):
        return subprocess.run(self._cmd(argv), check=check, capture_output=True, text=True, **kw)

    def bin(self, name):
        return os.path.join(self.bin_dir, name)

    # -- lifecycle
    def init(self):
        pwfile = os.path.join(self.base, 'pwfile')
        with open(pwfile, 'w') as fh:
            fh.write(self.password + '\n')
        if self._as_postgres:
            shutil.chown(pwfile, 'postgres')
        argv = [self.bin('initdb'), '-D', self.data_dir, '-U', 'postgres', '--pwfile', pwfile,
                '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8']
        if self.checksums:
            argv.append('--data-checksums')
        self.run(argv)
        os.unlink(pwfile)
        self.conf_d = os.path.join(self.data_dir, 'conf.d')
        self.run(['mkdir', '-p', self.conf_d])
        conf = {
            'port': self.port,
            'listen_addresses': "'127.0.0.1'",
            'unix_socket_directories': "'%s'" % self.socket_dir,
            'fsync': 'off',
            'shared_buffers': "'32MB'",
            'max_connections': 40,
            'logging_collector': 'off',
            'include_dir': "'conf.d'",
        }
        for key, value in self.settings.items():
            conf[key] = value if isinstance(value, int) else "'%s'" % value
        with open(os.path.join(self.data_dir, 'postgresql.conf'), 'a') as fh:
            fh.write('\n# pgops test harness\n')
            for key, value in conf.items():
                fh.write('%s = %s\n' % (key, value))

    def start(self):
        if not os.path.exists(os.path.join(self.data_dir, 'PG_VERSION')):
            self.init()
        self.run([self.bin('pg_ctl'), '-D', self.data_dir, '-l', self.log_file, '-w', '-t', '60', 'start'])
        return self

    def stop(self, mode='fast'):
        self.run([self.bin('pg_ctl'), '-D', self.data_dir, '-m', mode, '-w', 'stop'], check=False)

    def is_running(self):
        return self.run([self.bin('pg_ctl'), '-D', self.data_dir, 'status'], check=False).returncode == 0

    def destroy(self):
        self.stop('immediate')
        shutil.rmtree(self.base, ignore_errors=True)

    # -- clients
    def psql(self, sql, db='postgres', user='postgres'):
        """Run SQL through the real psql binary (statements one by one, as a script).

        Returns unaligned, tuples-only output; raises PsqlError with psql's message.
        """
        out = subprocess.run([self.bin('psql'), '-X', '-At', '-q', '-v', 'ON_ERROR_STOP=1', '-h', self.socket_dir,
                              '-p', str(self.port), '-U', user, '-d', db],
                             input=sql, check=False, capture_output=True, text=True)
        if out.returncode != 0:
            raise PsqlError(out.stderr.strip())
        return out.stdout.strip()

    def connect(self, db='postgres', user='postgres', autocommit=True):
        conn = psycopg2.connect(host=self.socket_dir, port=self.port, user=user, dbname=db)
        conn.autocommit = autocommit
        return conn

    def login(self, **extra):
        """Connection options of pgops modules for this cluster (unix socket)."""
        params = dict(login_unix_socket=self.socket_dir, login_port=self.port, login_user='postgres')
        params.update(extra)
        return params


@contextlib.contextmanager
def usr_lib_postgresql_16():
    """Held by the tests that link /usr/lib/postgresql/16 (PyPI's 16 for Debian's tools) and by those that
    need it absent: one at a time on this machine, whichever pytest worker runs them."""
    with open('/tmp/pgops-usr-lib-postgresql-16.lock', 'w') as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class PsqlError(Exception):
    pass


class ModuleFailed(Exception):
    def __init__(self, result):
        super().__init__(result.get('msg'))
        self.result = result


def run_module(name, args, check_mode=False, diff=False, env=None):
    """Run a module of this collection for real, as Ansible would hand it its arguments.

    Returns the module's JSON result; raises ModuleFailed when it failed.
    """
    module_args = dict(args)
    module_args['_ansible_check_mode'] = check_mode
    module_args['_ansible_diff'] = diff
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as fh:
        json.dump({'ANSIBLE_MODULE_ARGS': module_args}, fh)
        path = fh.name
    try:
        run_env = dict(os.environ)
        run_env.update(env or {})
        run_env['PYTHONPATH'] = os.pathsep.join(p for p in (
            (env or {}).get('PYTHONPATH'), COLLECTIONS, os.environ.get('PYTHONPATH')) if p)
        proc = subprocess.run([sys.executable, os.path.join(ROOT, 'plugins', 'modules', name + '.py'), path],
                              capture_output=True, text=True, env=run_env, timeout=300, check=False)
    finally:
        os.unlink(path)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc %s): %s %s' % (name, proc.returncode, proc.stdout,
                                                                           proc.stderr))
    result['_stderr'] = proc.stderr
    if result.get('failed'):
        raise ModuleFailed(result)
    return result


def wait_for(predicate, timeout=10.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
