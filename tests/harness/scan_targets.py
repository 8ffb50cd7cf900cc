# SPDX-License-Identifier: GPL-3.0-or-later
"""Servers to look at from outside: one planted with weak network settings, one hardened.

The weak one accepts the lowest TLS version this OpenSSL allows (TLS 1.0 at security level 0),
anonymous suites, md5 without TLS and a trust rule for ``backdoor``; its certificate expires in
5 days and names only localhost and 127.0.0.1. The hardened one takes TLS 1.2 or newer with ECDHE
AEAD suites, and scram-sha-256 over hostssl only.
"""

import os
import shutil

from tests.harness import certs
from tests.harness.pgcluster import PgCluster

WEAK = {'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1', 'ssl_ciphers': 'ALL:@SECLEVEL=0', 'autovacuum': 'off',
        'password_encryption': 'md5'}
WEAK_HBA = 'host all backdoor 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 md5\n'
HARDENED = {'ssl': 'on', 'ssl_min_protocol_version': 'TLSv1.2', 'ssl_ciphers': 'ECDHE+AESGCM:ECDHE+CHACHA20',
            'autovacuum': 'off'}
HARDENED_HBA = 'hostnossl all all 0.0.0.0/0 reject\nhostssl all all 127.0.0.1/32 scram-sha-256\n'


def tls_cluster(settings, hba, days, directory):
    """A started cluster serving a certificate valid ``days`` from a fresh CA (``directory``/ca.crt)."""
    c = PgCluster(settings=settings)
    c.init()
    ca_cert, ca_key = certs.ca()
    cert, key = certs.server(ca_cert, ca_key, days=days)
    for path in certs.write(c.data_dir, 'server', cert, key):
        shutil.chown(path, 'postgres')
    with open(os.path.join(directory, 'ca.crt'), 'wb') as fh:
        fh.write(certs.cert_pem(ca_cert))
    with open(os.path.join(c.data_dir, 'postgresql.conf'), 'a') as fh:
        fh.write("ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
    with open(os.path.join(c.data_dir, 'pg_hba.conf'), 'w') as fh:
        fh.write('local all all trust\n' + hba)
    return c.start()


def weak(directory):
    c = tls_cluster(WEAK, WEAK_HBA, 5, directory)
    c.psql("CREATE ROLE backdoor LOGIN; ALTER ROLE postgres PASSWORD 'pgops-test';")
    return c


def hardened(directory):
    c = tls_cluster(HARDENED, HARDENED_HBA, 200, directory)
    c.psql("ALTER ROLE postgres PASSWORD 'pgops-test';")
    return c
