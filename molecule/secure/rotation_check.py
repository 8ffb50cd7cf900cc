# SPDX-License-Identifier: GPL-3.0-or-later
"""Open a TLS session, run playbooks/rotate_certificates.yml, then prove that the open
session still works and that new connections get the new certificate (serial read
with openssl s_client, independent of the collection)."""

import os
import re
import subprocess
import sys

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def served_serial(port):
    out = subprocess.run(['openssl', 's_client', '-starttls', 'postgres', '-connect', '127.0.0.1:%s' % port],
                         input='', capture_output=True, text=True, timeout=20, check=False).stdout
    pem = re.search(r'-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----', out, re.S).group(0)
    return subprocess.run(['openssl', 'x509', '-noout', '-serial'], input=pem, capture_output=True, text=True,
                          check=True).stdout.strip()


def file_serial(path):
    return subprocess.run(['openssl', 'x509', '-noout', '-serial', '-in', path], capture_output=True, text=True,
                          check=True).stdout.strip()


def main():
    inventory, port, cert_file = sys.argv[1], sys.argv[2], sys.argv[3]
    session = psycopg2.connect(host='127.0.0.1', port=int(port), dbname='app', user='app_user',
                               password='Molecule-app-1', sslmode='require')
    session.autocommit = True
    before = served_serial(port)
    assert before == file_serial(cert_file), (before, file_serial(cert_file))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
                           os.path.join(ROOT, 'playbooks', 'rotate_certificates.yml')],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    cur = session.cursor()
    cur.execute('SELECT 1')
    assert cur.fetchone() == (1,), 'the open session broke'
    after = served_serial(port)
    assert after != before, 'still serving %s' % before
    assert after == file_serial(cert_file), (after, file_serial(cert_file))
    print('open session kept working; served %s before, %s after rotation' % (before, after))


if __name__ == '__main__':
    main()
