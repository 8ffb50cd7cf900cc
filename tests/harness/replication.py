# SPDX-License-Identifier: GPL-3.0-or-later
"""A primary and streaming standbys on one machine, each its own throwaway cluster.

TLS on every node (a test CA, server certificates for 127.0.0.1), a scram replication role,
physical slots named after the nodes, ``wal_log_hints`` for pg_rewind. Standbys are built
with the real pg_basebackup; ``primary_conninfo`` verifies the server (``verify-full``).
"""

import os
import shutil
import tempfile

from tests.harness import certs
from tests.harness.pgcluster import PgCluster, wait_for

REPLICATION_PASSWORD = 'repl-secret'
SETTINGS = {'wal_level': 'replica', 'max_wal_senders': 10, 'max_replication_slots': 10, 'wal_log_hints': 'on',
            'hot_standby': 'on', 'wal_keep_size': '64MB', 'ssl': 'on', 'ssl_cert_file': 'server.crt',
            'ssl_key_file': 'server.key', 'wal_receiver_status_interval': '1s', 'autovacuum': 'off'}


class ReplicaSet(object):
    """``nodes['n1']`` is the first primary; ``n2``, ``n3`` ... its standbys."""

    def __init__(self, standbys=1, synchronous=None, settings=None, checksums=False, bin_dir=None):
        self.base = tempfile.mkdtemp(prefix='pgops-repl-')
        os.chmod(self.base, 0o755)
        ca_cert, ca_key = certs.ca()
        self.ca_file = os.path.join(self.base, 'ca.crt')
        with open(self.ca_file, 'wb') as fh:
            fh.write(certs.cert_pem(ca_cert))
        os.chmod(self.ca_file, 0o644)
        conf = dict(SETTINGS, **(settings or {}))
        primary = PgCluster(settings=conf, checksums=checksums, bin_dir=bin_dir)
        primary.init()
        server_cert, server_key = certs.server(ca_cert, ca_key)
        cert_path, key_path = certs.write(primary.data_dir, 'server', server_cert, server_key)
        if os.geteuid() == 0:
            for path in (cert_path, key_path):
                shutil.chown(path, 'postgres', 'postgres')
        primary.start()
        primary.psql("CREATE ROLE replicator LOGIN REPLICATION PASSWORD '%s'" % REPLICATION_PASSWORD)
        self.nodes = {'n1': primary}
        for i in range(standbys):
            self.add_standby('n%d' % (i + 2), 'n1')
        if synchronous:
            primary.psql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % synchronous)
            primary.psql('SELECT pg_reload_conf()')
            assert wait_for(lambda: primary.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state IN "
                                                 "('sync', 'quorum')") != '0', 30)

    def conninfo(self, upstream, name):
        u = self.nodes[upstream]
        return ("host=127.0.0.1 port=%d user=replicator password=%s sslmode=verify-full sslrootcert=%s "
                "application_name=%s" % (u.port, REPLICATION_PASSWORD, self.ca_file, name))

    def add_standby(self, name, upstream):
        u = self.nodes[upstream]
        u.psql("SELECT pg_create_physical_replication_slot('%s', true)" % name)
        c = PgCluster(bin_dir=u.bin_dir)
        c.run([c.bin('pg_basebackup'), '-D', c.data_dir, '-X', 'stream', '-c', 'fast', '-d',
               self.conninfo(upstream, name)])
        with open(os.path.join(c.data_dir, 'postgresql.conf'), 'a') as fh:
            fh.write("\n# this node\nport = %d\nunix_socket_directories = '%s'\n" % (c.port, c.socket_dir))
        with open(os.path.join(c.data_dir, 'postgresql.auto.conf'), 'a') as fh:
            fh.write("primary_conninfo = '%s'\nprimary_slot_name = '%s'\n" % (self.conninfo(upstream, name), name))
        open(os.path.join(c.data_dir, 'standby.signal'), 'w').close()
        if os.geteuid() == 0:
            for f in ('postgresql.conf', 'postgresql.auto.conf', 'standby.signal'):
                shutil.chown(os.path.join(c.data_dir, f), 'postgres', 'postgres')
        c.start()
        self.nodes[name] = c
        assert wait_for(lambda: c.psql('SELECT status FROM pg_stat_wal_receiver') == 'streaming', 30), \
            '%s does not stream' % name
        return c

    def node_specs(self, **overrides):
        """The ``nodes`` option of the failover module for this set."""
        out = []
        for name in sorted(self.nodes):
            c = self.nodes[name]
            spec = dict(name=name, host=c.socket_dir, port=c.port, replication_host='127.0.0.1', local=True,
                        data_dir=c.data_dir, bin_dir=c.bin_dir, service_manager='pg_ctl')
            spec.update(overrides.get(name, {}))
            out.append(spec)
        return out

    def module_args(self, **extra):
        args = dict(nodes=self.node_specs(), login_user='postgres', replication_password=REPLICATION_PASSWORD,
                    replication_ca_cert=self.ca_file, timeout=60)
        args.update(extra)
        return args

    def role(self, name):
        return 'standby' if self.nodes[name].psql('SELECT pg_is_in_recovery()') == 't' else 'primary'

    def upstream_port(self, name):
        return self.nodes[name].psql("SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'")

    def destroy(self):
        for c in self.nodes.values():
            c.destroy()
        shutil.rmtree(self.base, ignore_errors=True)
