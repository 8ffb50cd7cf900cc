# SPDX-License-Identifier: GPL-3.0-or-later
"""Test certificates made with cryptography: a CA, server certificates, expired ones."""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def cert_pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def ca():
    k = key()
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(_name('pgops test CA')).issuer_name(_name('pgops test CA'))
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(k, hashes.SHA256()))
    return c, k


def server(ca_cert, ca_key, cn='localhost', days=90, expired=False):
    k = key()
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)) if expired else (
        now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days))
    c = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject)
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                                                     x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                        critical=False)
         .sign(ca_key, hashes.SHA256()))
    return c, k


def write(directory, name, cert, k, key_mode=0o600):
    cert_path = os.path.join(directory, name + '.crt')
    key_path = os.path.join(directory, name + '.key')
    with open(cert_path, 'wb') as fh:
        fh.write(cert_pem(cert))
    with open(key_path, 'wb') as fh:
        fh.write(key_pem(k))
    os.chmod(key_path, key_mode)
    return cert_path, key_path
