# SPDX-License-Identifier: GPL-3.0-or-later
"""The outside look's pure parts from tables: cipher grades, certificate names as libpq checks them,
each check's findings from facts, and the wire helpers on bytes."""

import struct

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils import _outside
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import outside


@pytest.mark.parametrize('name, grade', [
    ('ECDHE-ECDSA-AES256-GCM-SHA384', 'strong'),
    ('ECDHE-RSA-CHACHA20-POLY1305', 'strong'),
    ('DHE-RSA-AES128-CCM', 'strong'),
    ('TLS_AES_256_GCM_SHA384', 'strong'),
    ('ECDHE-ECDSA-AES256-SHA384', 'cbc'),
    ('ECDHE-RSA-AES128-SHA', 'cbc'),
    ('AES256-GCM-SHA384', 'no_forward_secrecy'),
    ('CAMELLIA128-SHA', 'no_forward_secrecy'),
    ('ADH-AES256-GCM-SHA384', 'broken'),
    ('AECDH-AES128-SHA', 'broken'),
    ('NULL-SHA256', 'broken'),
    ('ECDHE-RSA-NULL-SHA', 'broken'),
    ('DES-CBC3-SHA', 'broken'),
    ('EDH-RSA-DES-CBC3-SHA', 'broken'),
    ('RC4-MD5', 'broken'),
    ('EXP-RC4-MD5', 'broken'),
    ('IDEA-CBC-SHA', 'broken'),
])
def test_cipher_grade(name, grade):
    assert outside.cipher_grade(name) == grade


@pytest.mark.parametrize('server, dns, ips, cn, ok', [
    ('db1.example.com', ['db1.example.com'], [], None, True),
    ('DB1.Example.com.', ['db1.example.com'], [], None, True),
    ('db1.example.com', ['*.example.com'], [], None, True),
    ('a.db1.example.com', ['*.example.com'], [], None, False),  # a wildcard is one label
    ('example.com', ['*.example.com'], [], None, False),
    ('db1.example.com', ['db2.example.com'], [], 'db1.example.com', False),  # CN ignored when a DNS name exists
    ('db1.example.com', [], [], 'db1.example.com', True),  # CN only without DNS names
    ('10.0.0.5', ['db1.example.com'], ['10.0.0.5'], None, True),
    ('10.0.0.5', ['10.0.0.5'], [], None, False),  # an address must be an IP entry
    ('::1', [], ['0:0:0:0:0:0:0:1'], None, True),
    ('10.0.0.6', [], ['10.0.0.5'], None, False),
])
def test_name_matches(server, dns, ips, cn, ok):
    assert outside.name_matches(server, dns, ips, cn) is ok


CERT = {'subject': 'CN=db1', 'not_after': '2027-01-01T00:00:00+00:00', 'days_to_expiry': 200, 'dns_names': ['db1'],
        'ip_names': [], 'common_name': 'db1', 'self_signed': False, 'signature_hash': 'sha256', 'key_type': 'EC',
        'key_bits': 256}
CLEAN = {'host': 'db1', 'port': 5432, 'reachable': True, 'error': None, 'tls_offered': True, 'tls_answer': 'S',
         'versions': {'TLSv1': 'refused', 'TLSv1.1': 'refused', 'TLSv1.2': 'accepted', 'TLSv1.3': 'accepted'},
         'ciphers': ['ECDHE-ECDSA-AES256-GCM-SHA384'], 'ciphers_tested': 150, 'chain': {'verified': True, 'reason': None},
         'certificate': CERT, 'server_name': 'db1',
         'startup': [{'user': 'postgres', 'database': 'postgres', 'transport': 'plain', 'outcome': 'rejected'},
                     {'user': 'postgres', 'database': 'postgres', 'transport': 'tls', 'outcome': 'auth',
                      'method': 'sasl', 'mechanisms': ['SCRAM-SHA-256']}],
         'version': {'running': '15.20', 'source': 'login', 'latest': '15.20', 'why': None}}


def _with(**changes):
    facts = dict(CLEAN)
    for key, value in changes.items():
        if key in CERT:
            facts['certificate'] = dict(facts['certificate'], **{key: value})
        else:
            facts[key] = value
    return facts


def _plain(method, outcome='auth'):
    return [{'user': 'app', 'database': 'db', 'transport': 'plain', 'outcome': outcome, 'method': method,
             'mechanisms': ['SCRAM-SHA-256'] if method == 'sasl' else []}]


CASES = [
    ('clean', {}, []),
    ('tls 1.0', dict(versions=dict(CLEAN['versions'], TLSv1='accepted')), [('outside.tls_versions', 'warning')]),
    ('tls 1.0 untested', dict(versions=dict(CLEAN['versions'], TLSv1='untested')), []),
    ('anonymous and cbc', dict(ciphers=['ADH-AES128-SHA', 'ECDHE-RSA-AES128-SHA']),
     [('outside.ciphers', 'critical'), ('outside.ciphers', 'info')]),
    ('static rsa', dict(ciphers=['AES256-GCM-SHA384']), [('outside.ciphers', 'warning')]),
    ('expired', dict(days_to_expiry=-1), [('outside.certificate_expiry', 'critical')]),
    ('6 days', dict(days_to_expiry=6), [('outside.certificate_expiry', 'critical')]),
    ('7 days', dict(days_to_expiry=7), [('outside.certificate_expiry', 'warning')]),
    ('30 days', dict(days_to_expiry=30), []),
    ('wrong name', dict(server_name='db2'), [('outside.certificate_name', 'warning')]),
    ('not verified', dict(chain={'verified': False, 'reason': 'CERTIFICATE_VERIFY_FAILED'}),
     [('outside.certificate_trust', 'warning')]),
    ('self-signed, no ca', dict(chain=None, self_signed=True), [('outside.certificate_trust', 'warning')]),
    ('self-signed, verified', dict(self_signed=True), []),
    ('sha1 and rsa 1024', dict(signature_hash='sha1', key_type='RSA', key_bits=1024),
     [('outside.certificate_trust', 'warning')] * 2),
    ('cleartext before tls', dict(startup=_plain('password')),
     [('outside.non_tls_accepted', 'warning'), ('outside.password_before_tls', 'critical')]),
    ('scram before tls', dict(startup=_plain('sasl')),
     [('outside.non_tls_accepted', 'warning'), ('outside.password_before_tls', 'warning')]),
    ('gss before tls', dict(startup=_plain('gss')), [('outside.non_tls_accepted', 'warning')]),
    ('trust', dict(startup=_plain('trust', outcome='ok')),
     [('outside.non_tls_accepted', 'warning'), ('outside.trust', 'critical')]),
    ('md5 in tls', dict(startup=[dict(CLEAN['startup'][1], method='md5')]), [('outside.weak_auth', 'warning')]),
    ('version behind', dict(version=dict(CLEAN['version'], latest='15.22')), [('outside.version', 'warning')]),
    ('version told by trust', dict(version=dict(CLEAN['version'], source='trust')), [('outside.version', 'info')]),
    ('version unknown', dict(version={'running': None, 'why': None}), [('outside.version', 'info')]),
    ('another major packaged', dict(version=dict(CLEAN['version'], latest='16.6')), []),
    ('no tls: no tls checks', dict(tls_offered=False, tls_answer='N', ciphers=['ADH-AES128-SHA']),
     [('outside.tls_offered', 'critical')]),
    ('unreachable: that alone', dict(reachable=False, error='Connection refused', tls_offered=None),
     [('outside.reachable', 'critical')]),
]


@pytest.mark.parametrize('label, changes, expected', CASES, ids=[c[0] for c in CASES])
def test_findings_from_facts(label, changes, expected):
    facts = _with(**changes)
    thresholds = outside.REGISTRY.defaults()
    findings, ran = outside.evaluate(facts, thresholds, outside.REGISTRY.names)
    assert sorted((f['id'], f['severity']) for f in findings if f['severity'] != 'ok') == sorted(expected)
    assert len(set(f['id'] for f in findings)) == len(ran)  # one ok finding per clean check that ran
    for f in findings:
        assert f['id'] in outside.REGISTRY.ids
        if f['severity'] != 'ok':
            assert f['remediation'] and f['observed']


def test_unreachable_is_said_even_when_skipped():
    facts = _with(reachable=False, error='timed out')
    findings, ran = outside.evaluate(facts, outside.REGISTRY.defaults(), ['tls_versions'])
    assert ran == ['reachable'] and findings[0]['id'] == 'outside.reachable'


def test_startup_packet_and_error_fields():
    packet = _outside.startup_packet('app"; x', 'db\u00e9')
    length, protocol = struct.unpack('!ii', packet[:8])
    assert length == len(packet) and protocol == 196608
    assert packet[8:].split(b'\0')[:4] == [b'user', b'app"; x', b'database', 'db\u00e9'.encode()]
    assert packet.endswith(b'\0\0')
    fields = _outside.error_fields(b'SFATAL\0C28000\0Mno pg_hba.conf entry\0\0')
    assert fields == {'S': 'FATAL', 'C': '28000', 'M': 'no pg_hba.conf entry'}


class _Wire(object):
    """A socket that answers with prepared bytes and records what was sent."""

    def __init__(self, data):
        self.data, self.sent = data, b''

    def recv(self, size):
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk

    def sendall(self, data):
        self.sent += data


def _message(kind, payload):
    return kind + struct.pack('!i', len(payload) + 4) + payload


@pytest.mark.parametrize('reply, expected', [
    (_message(b'R', struct.pack('!i', 5) + b'salt'), {'outcome': 'auth', 'method': 'md5', 'mechanisms': []}),
    (_message(b'R', struct.pack('!i', 10) + b'SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0'),
     {'outcome': 'auth', 'method': 'sasl', 'mechanisms': ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']}),
    (_message(b'E', b'SFATAL\0C28000\0Mrejected\0\0'),
     {'outcome': 'rejected', 'sqlstate': '28000', 'message': 'rejected'}),
    (_message(b'R', struct.pack('!i', 0)) + _message(b'S', b'server_version\x0015.20\0')
     + _message(b'S', b'TimeZone\0UTC\0') + _message(b'K', b'12345678') + _message(b'Z', b'I'),
     {'outcome': 'ok', 'method': 'trust', 'server_version': '15.20'}),
])
def test_first_answer(reply, expected):
    wire = _Wire(reply)
    assert _outside.first_answer(wire, 'u', 'd') == expected
    assert not wire.sent.count(b'p\0')  # no password message is ever sent
    if expected['outcome'] == 'ok':
        assert wire.sent.endswith(b'X\0\0\0\x04')


def test_a_truncated_or_foreign_answer_raises_eof():
    with pytest.raises(EOFError):
        _outside.first_answer(_Wire(b'R\0\0'), 'u', 'd')
    with pytest.raises(EOFError):
        _outside.first_answer(_Wire(b'HTTP/1.1 400 Bad Request\r\n'), 'u', 'd')
