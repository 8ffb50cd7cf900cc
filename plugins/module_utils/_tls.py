# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Certificates: parse and check with ``cryptography``; read the certificate a server serves."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import socket
import ssl
import struct
import traceback

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import MissingLibraryError, ParameterError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

SSL_REQUEST = struct.pack('!ii', 8, 80877103)


def require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise MissingLibraryError("the Python library 'cryptography' is missing on the managed host. Fix: apt-get "
                                  "install python3-cryptography (or pip install cryptography) for its Python")


def _utc(cert, attr):
    value = getattr(cert, attr + '_utc', None)
    if value is None:  # cryptography < 42
        value = getattr(cert, attr).replace(tzinfo=datetime.timezone.utc)
    return value


def load_certificate(pem, param):
    require_cryptography()
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise ParameterError(param, 'not a PEM certificate (%s)' % exc, 'give the PEM file of the certificate')


def load_key(pem, param):
    require_cryptography()
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ParameterError(param, 'the key is protected by a passphrase', 'give an unencrypted key: '
                             'PostgreSQL can not ask for a passphrase on reload')
    except ValueError as exc:
        raise ParameterError(param, 'not a PEM private key (%s)' % exc, 'give the PEM file of the private key')


def _public(obj):
    return obj.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert, key):
    return _public(cert) == _public(key)


def describe(cert, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in sans.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    not_after = _utc(cert, 'not_valid_after')
    return {
        'subject': cert.subject.rfc4514_string(),
        'issuer': cert.issuer.rfc4514_string(),
        'serial': '%x' % cert.serial_number,
        'subject_alt_names': names,
        'not_before': _utc(cert, 'not_valid_before').isoformat(),
        'not_after': not_after.isoformat(),
        'days_to_expiry': (not_after - now).days,
        'self_signed': cert.issuer == cert.subject,
    }


def check_pair(cert, key, cert_param, allow_expired=False, now=None):
    """Refuse a pair that does not match, an expired certificate, or one not yet valid."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if not key_matches(cert, key):
        raise ParameterError(cert_param, 'the certificate does not match the private key',
                             'give the key the certificate was issued for')
    if _utc(cert, 'not_valid_after') <= now and not allow_expired:
        raise ParameterError(cert_param, 'the certificate expired on %s' % _utc(cert, 'not_valid_after').date(),
                             'issue a new certificate (or set allow_expired=true to install it anyway)')
    if _utc(cert, 'not_valid_before') > now:
        raise ParameterError(cert_param, 'the certificate is not valid before %s' % _utc(cert, 'not_valid_before'),
                             'check the clocks, or wait until it is valid')


def served_certificate(host, port, timeout=5.0):
    """DER certificate the PostgreSQL server at host:port presents (SSLRequest, then TLS)."""
    with socket.create_connection((host, port), timeout=timeout) as raw:
        raw.sendall(SSL_REQUEST)
        answer = raw.recv(1)
        if answer != b'S':
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with context.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True), tls.version()


def served_description(host, port):
    served = served_certificate(host, port)
    if not served:
        return None
    der, version = served
    cert = x509.load_der_x509_certificate(der)
    info = describe(cert)
    info['tls_version'] = version
    return info
