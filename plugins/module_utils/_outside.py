# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""What a PostgreSQL server offers on the network to somebody who has no password.

Speaks the frontend/backend protocol over plain sockets: the SSLRequest answer, TLS handshakes
pinned to one protocol version or to a set of cipher suites, and a startup packet for a user and
database that stops at the server's first answer (an authentication request, an error, or, for a
``trust`` rule, the session itself, which is closed at once). Nothing is written to the server and
no password is ever sent. ``scan`` returns the facts ``_checks/outside.py`` evaluates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import struct
import time
import warnings

from ansible_collections.pgops.postgresql.plugins.module_utils._tls import SSL_REQUEST

PROTOCOL_3 = 196608
AUTH = {0: 'ok', 2: 'kerberos', 3: 'password', 5: 'md5', 7: 'gss', 9: 'sspi', 10: 'sasl'}
VERSIONS = ('TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3')
_TLS_VERSION = {'TLSv1': 'TLSv1', 'TLSv1.1': 'TLSv1_1', 'TLSv1.2': 'TLSv1_2', 'TLSv1.3': 'TLSv1_3'}
# everything this OpenSSL build can offer for TLS 1.2 and older, weak suites included
ALL_CIPHERS = 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'


class Counter(object):
    """The connections a scan opened (the figure its budget is tested on)."""

    def __init__(self):
        self.connections = 0


def _open(host, port, timeout, counter):
    counter.connections += 1
    return socket.create_connection((host, port), timeout=timeout)


def _recv_exact(sock, size):
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError('the server closed the connection')
        data += chunk
    return data


def read_message(sock):
    """(type byte, payload) of one backend message."""
    head = _recv_exact(sock, 5)
    length = struct.unpack('!i', head[1:])[0]
    if length < 4 or length > 1024 * 1024:
        raise EOFError('not a PostgreSQL message (length %d)' % length)
    return head[:1], _recv_exact(sock, length - 4)


def startup_packet(user, database):
    body = struct.pack('!i', PROTOCOL_3)
    for key, value in (('user', user), ('database', database), ('application_name', 'pgops_vulnerability_scan')):
        body += key.encode() + b'\0' + value.encode('utf-8') + b'\0'
    body += b'\0'
    return struct.pack('!i', len(body) + 4) + body


def error_fields(payload):
    """An ErrorResponse's fields: {'S': 'FATAL', 'C': '28000', 'M': '...'}."""
    out = {}
    for part in payload.split(b'\0'):
        if part:
            out[part[:1].decode('ascii', 'replace')] = part[1:].decode('utf-8', 'replace')
    return out


def first_answer(sock, user, database):
    """Send a startup packet; the server's first answer, without ever sending a password.

    {'outcome': 'auth', 'method': 'md5'|'password'|'sasl'|..., 'mechanisms': [...]}
    {'outcome': 'ok', 'server_version': '15.19'}: a trust rule let the probe in (closed at once)
    {'outcome': 'rejected', 'sqlstate': '28000', 'message': '...'}
    """
    sock.sendall(startup_packet(user, database))
    kind, payload = read_message(sock)
    if kind == b'E':
        fields = error_fields(payload)
        return {'outcome': 'rejected', 'sqlstate': fields.get('C'), 'message': fields.get('M')}
    if kind != b'R':
        return {'outcome': 'unexpected', 'message': 'message type %r' % kind}
    code = struct.unpack('!i', payload[:4])[0]
    method = AUTH.get(code, 'code %d' % code)
    if code != 0:
        mechanisms = [m.decode('ascii', 'replace') for m in payload[4:].split(b'\0') if m] if code == 10 else []
        return {'outcome': 'auth', 'method': method, 'mechanisms': mechanisms}
    answer = {'outcome': 'ok', 'method': 'trust', 'server_version': None}
    for dummy in range(200):
        kind, payload = read_message(sock)
        if kind == b'S':
            name, value = (payload.split(b'\0') + [b'', b''])[:2]
            if name == b'server_version':
                answer['server_version'] = value.decode('utf-8', 'replace')
        if kind in (b'Z', b'E'):
            break
    sock.sendall(b'X\0\0\0\x04')
    return answer


def offers_tls(host, port, timeout, counter):
    """The server's answer to SSLRequest: 'S' (TLS offered), 'N' (not), or what else it said."""
    with _open(host, port, timeout, counter) as raw:
        raw.sendall(SSL_REQUEST)
        return _recv_exact(raw, 1).decode('latin-1')


def context(version=None, ciphers=ALL_CIPHERS, ca_file=None):
    """A client context that offers what it is told to (weak versions and suites included) and,
    unless ``ca_file`` is given, verifies nothing: the scan looks at what the server accepts."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(ciphers)
    if version:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            pinned = getattr(ssl.TLSVersion, _TLS_VERSION[version])
            ctx.minimum_version = pinned
            ctx.maximum_version = pinned
    return ctx


def handshake(host, port, timeout, counter, ctx, server_name=None, then=None):
    """One SSLRequest and TLS handshake with ``ctx``: (True, {'version', 'cipher', 'der', ...}) or
    (False, reason). ``then(tls)`` runs on the open TLS socket (a startup probe)."""
    try:
        with _open(host, port, timeout, counter) as raw:
            raw.sendall(SSL_REQUEST)
            if _recv_exact(raw, 1) != b'S':
                return False, 'TLS not offered'
            with ctx.wrap_socket(raw, server_hostname=server_name if ctx.check_hostname else None) as tls:
                info = {'version': tls.version(), 'cipher': tls.cipher()[0], 'der': tls.getpeercert(binary_form=True)}
                if then is not None:
                    info['then'] = then(tls)
                return True, info
    except ssl.SSLError as exc:
        return False, getattr(exc, 'reason', None) or str(exc)
    except (OSError, EOFError) as exc:
        return False, str(exc) or exc.__class__.__name__


def client_supports(version):
    """Whether this OpenSSL build can offer ``version`` at all (TLS 1.0 may be compiled out)."""
    try:
        ctx = context(version)
    except (ValueError, ssl.SSLError, AttributeError):
        return False
    return bool(ctx.get_ciphers()) and getattr(ssl, 'HAS_' + _TLS_VERSION[version], True)


def accepted_ciphers(host, port, timeout, counter, version, limit=200):
    """The TLS 1.2-or-older cipher suites the server accepts at ``version``.

    Offer every suite this OpenSSL build has, note the one the server picks, offer the rest again:
    one handshake per accepted suite plus one, however many the client knows.
    """
    remaining = [c['name'] for c in context(version).get_ciphers() if c['protocol'] != 'TLSv1.3']
    tested = len(remaining)
    accepted = []
    while remaining and len(accepted) < limit:
        try:
            ctx = context(version, ':'.join(remaining) + ':@SECLEVEL=0')
        except ssl.SSLError:
            break
        ok, info = handshake(host, port, timeout, counter, ctx)
        if not ok or info['cipher'] not in remaining:
            break
        accepted.append(info['cipher'])
        remaining.remove(info['cipher'])
    return accepted, tested


def probe_startup(host, port, timeout, counter, user, database, ctx=None):
    """The first answer to a startup packet, in plain text (``ctx`` None) or inside TLS."""
    if ctx is None:
        try:
            with _open(host, port, timeout, counter) as raw:
                return first_answer(raw, user, database)
        except (OSError, EOFError) as exc:
            return {'outcome': 'closed', 'message': str(exc) or exc.__class__.__name__}
    ok, info = handshake(host, port, timeout, counter, ctx, then=lambda tls: first_answer(tls, user, database))
    if not ok:
        return {'outcome': 'closed', 'message': info}
    return info['then']


def scan(host, port, timeout=5.0, users=('postgres',), database='postgres', ciphers=True, ca_file=None):
    """Every fact the outside checks evaluate. ``reachable`` False stops the scan."""
    started = time.time()
    counter = Counter()
    facts = {'host': host, 'port': port, 'reachable': True, 'error': None, 'tls_offered': None,
             'versions': {}, 'ciphers': None, 'ciphers_tested': 0, 'certificate_der': None, 'chain': None,
             'startup': []}
    try:
        answer = offers_tls(host, port, timeout, counter)
    except (OSError, EOFError) as exc:
        facts.update(reachable=False, error=str(exc) or exc.__class__.__name__)
        facts['connections'] = counter.connections
        return facts
    facts['tls_offered'] = answer == 'S'
    facts['tls_answer'] = answer
    best = None
    if facts['tls_offered']:
        for version in VERSIONS:
            if not client_supports(version):
                facts['versions'][version] = 'untested'
                continue
            ok, info = handshake(host, port, timeout, counter, context(version))
            facts['versions'][version] = 'accepted' if ok else 'refused'
            if ok:
                facts['certificate_der'] = facts['certificate_der'] or info['der']
                if version != 'TLSv1.3':
                    best = version
        if ciphers and best:
            facts['ciphers'], facts['ciphers_tested'] = accepted_ciphers(host, port, timeout, counter, best)
        if ca_file and facts['certificate_der']:
            ok, info = handshake(host, port, timeout, counter, context(ca_file=ca_file))
            facts['chain'] = {'verified': ok, 'reason': None if ok else info}
    for user in users:
        plain = probe_startup(host, port, timeout, counter, user, database)
        plain.update(user=user, database=database, transport='plain')
        facts['startup'].append(plain)
        if facts['tls_offered']:
            inside = probe_startup(host, port, timeout, counter, user, database, ctx=context())
            inside.update(user=user, database=database, transport='tls')
            facts['startup'].append(inside)
    facts['connections'] = counter.connections
    facts['duration_ms'] = int((time.time() - started) * 1000)
    return facts


def authenticated_version(host, port, user, password, database, timeout):
    """The server_version a login reports (read from the startup parameters; no statement runs)."""
    import psycopg2  # the controller's client library; imported here so that the scan needs none
    conn = psycopg2.connect(host=host, port=port, user=user, password=password, dbname=database, sslmode='require',
                            connect_timeout=max(1, int(timeout)), application_name='pgops_vulnerability_scan')
    try:
        return conn.get_parameter_status('server_version')
    finally:
        conn.close()
