# SPDX-License-Identifier: GPL-3.0-or-later
"""A throwaway pgbouncer in front of a harness cluster: its own temporary directory and free port,
running as postgres (as root) and connecting to the cluster over its unix socket. Users in its
auth file: postgres (admin) and monitor (stats only), trusted (the test's own machine); postgres
carries the clusters' password, with which pgbouncer logs in when pointed at a server over TCP."""

import os
import shutil
import subprocess
import tempfile
import time

import psycopg2

from tests.harness.pgcluster import free_port


class PgBouncer(object):
    def __init__(self, cluster, pool_size=2, pool_mode='session', max_client_conn=20):
        self.cluster = cluster
        self.base = tempfile.mkdtemp(prefix='pgops-bouncer-')
        os.chmod(self.base, 0o755)
        self.port = free_port()
        self.ini = os.path.join(self.base, 'pgbouncer.ini')
        self.pidfile = os.path.join(self.base, 'pgbouncer.pid')
        with open(os.path.join(self.base, 'users.txt'), 'w') as fh:
            fh.write('"postgres" "%s"\n"monitor" ""\n' % cluster.password)
        with open(self.ini, 'w') as fh:
            fh.write('\n'.join([
                '[databases]',
                '* = host=%s port=%d' % (cluster.socket_dir, cluster.port),
                '[pgbouncer]',
                'listen_addr = 127.0.0.1', 'listen_port = %d' % self.port, 'unix_socket_dir = %s' % self.base,
                'pidfile = %s' % self.pidfile, 'logfile = %s/pgbouncer.log' % self.base,
                'auth_type = trust', 'auth_file = %s/users.txt' % self.base,
                'admin_users = postgres', 'stats_users = monitor',
                'pool_mode = %s' % pool_mode, 'default_pool_size = %d' % pool_size, 'reserve_pool_size = 0',
                'max_client_conn = %d' % max_client_conn, 'ignore_startup_parameters = extra_float_digits', '']))
        if os.geteuid() == 0:
            shutil.chown(self.base, 'postgres')
        argv = ['/usr/sbin/pgbouncer', '-d', '-q', self.ini]
        subprocess.run((['runuser', '-u', 'postgres', '--'] + argv) if os.geteuid() == 0 else argv, check=True)
        deadline = time.time() + 15
        while True:
            try:
                self.connect('pgbouncer', 'monitor').close()
                break
            except psycopg2.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def connect(self, dbname='postgres', user='postgres'):
        conn = psycopg2.connect(host='127.0.0.1', port=self.port, dbname=dbname, user=user, connect_timeout=10)
        conn.autocommit = True
        return conn

    def login(self, **extra):
        """Options of pool_check for this instance, as the stats login."""
        params = dict(login_host='127.0.0.1', login_port=self.port, login_user='monitor', ssl_mode='disable')
        params.update(extra)
        return params

    def destroy(self):
        try:
            with open(self.pidfile) as fh:
                os.kill(int(fh.read().strip()), 15)
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
        shutil.rmtree(self.base, ignore_errors=True)
