# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The look from outside: what a server offers on the network before anybody logs in.

Facts come from ``_outside.scan`` (the wire) and ``certificate_facts`` (the served certificate).
Every evaluator is pure: facts in, findings out, tested from tables. The inside view of the same
settings is the security audit (``sec.ssl.*``); this one proves what a client actually gets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'penetration-testing.md#what-the-scan-checks'
OLD_VERSIONS = ('TLSv1', 'TLSv1.1')
# suites nobody should accept: no authentication of the server, no encryption, or broken algorithms
_BROKEN = re.compile(r'(^|-)(ADH|AECDH|NULL|EXP|EXPORT|RC4|RC2|DES|3DES|DES-CBC3|MD5|ANON|IDEA|SEED)(-|$)')
_FORWARD_SECRET = re.compile(r'^(ECDHE|DHE|EDH)-')
_AEAD = re.compile(r'(GCM|CHACHA20|CCM)')


def cipher_grade(name):
    """'broken', 'no_forward_secrecy', 'cbc' or 'strong' for an OpenSSL suite name."""
    upper = name.upper()
    if _BROKEN.search(upper) or 'DES-CBC' in upper:
        return 'broken'
    if upper.startswith('TLS_'):
        return 'strong'
    if not _FORWARD_SECRET.match(upper):
        return 'no_forward_secrecy'
    if not _AEAD.search(upper):
        return 'cbc'
    return 'strong'


def name_matches(server_name, dns_names, ip_names, common_name):
    """Whether a client checking ``server_name`` (libpq sslmode=verify-full) accepts the certificate.

    An address matches the IP entries; a name matches a DNS entry (a wildcard stands for the whole
    leftmost label), and the common name only when there is no DNS entry at all.
    """
    try:
        address = ipaddress.ip_address(server_name)
    except ValueError:
        address = None
    if address is not None:
        return any(_ip_equal(address, ip) for ip in ip_names) or (not dns_names and common_name == server_name)
    wanted = server_name.lower().rstrip('.')
    for pattern in (dns_names or ([common_name] if common_name else [])):
        pattern = pattern.lower().rstrip('.')
        if pattern == wanted:
            return True
        if pattern.startswith('*.') and '.' in wanted and wanted.split('.', 1)[1] == pattern[2:] \
                and wanted.split('.', 1)[0]:
            return True
    return False


def _ip_equal(address, text):
    try:
        return ipaddress.ip_address(text) == address
    except ValueError:
        return False


def certificate_facts(der, now=None):
    """The served certificate as plain facts (subject, names, expiry, key, signature hash)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa
    from cryptography.x509.oid import NameOID
    from ansible_collections.pgops.postgresql.plugins.module_utils._tls import describe
    cert = x509.load_der_x509_certificate(der)
    info = describe(cert, now)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        info['dns_names'] = [str(v) for v in sans.get_values_for_type(x509.DNSName)]
        info['ip_names'] = [str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        info['dns_names'], info['ip_names'] = [], []
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    info['common_name'] = cns[0].value if cns else None
    key = cert.public_key()
    info['key_type'] = 'RSA' if isinstance(key, rsa.RSAPublicKey) else 'DSA' if isinstance(key, dsa.DSAPublicKey) \
        else key.__class__.__name__.replace('_', '').replace('PublicKey', '')
    info['key_bits'] = getattr(key, 'key_size', None)
    try:
        info['signature_hash'] = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None
    except Exception:  # an algorithm this cryptography does not know  # pylint: disable=broad-except
        info['signature_hash'] = 'unknown'
    return info


# ---------------------------------------------------------------------------------------- checks
def _f(check, severity, title, obj, observed, expected, remediation):
    return finding('outside.' + check, severity, title, obj=obj, observed=observed, expected=expected,
                   remediation=remediation)


def _where(f):
    return '%s:%s' % (f['host'], f['port'])


def _c_reachable(f, t):
    if f['reachable']:
        return []
    return [_f('reachable', 'critical', 'The server can not be reached', _where(f), f['error'],
               'a PostgreSQL server answering on the port',
               'Check that the server runs, listen_addresses and the firewall; then scan again.')]


def _c_tls_offered(f, t):
    if f['tls_offered']:
        return []
    return [_f('tls_offered', 'critical', 'The server does not offer TLS', _where(f),
               'SSLRequest answered %r' % f.get('tls_answer'), "'S' (TLS offered)",
               'Turn TLS on with a CA-signed certificate: the ssl role (docs/runbooks/ssl.md).')]


def _c_tls_versions(f, t):
    old = [v for v in OLD_VERSIONS if f['versions'].get(v) == 'accepted']
    if not old:
        return []
    return [_f('tls_versions', 'warning', 'Broken TLS versions are accepted', _where(f), ', '.join(old) + ' accepted',
               'TLSv1.2 or newer only', "ssl_min_protocol_version = 'TLSv1.2' (the ssl role's default); "
               "a reload applies it.")]


def _c_ciphers(f, t):
    out = []
    grades = {}
    for name in f.get('ciphers') or []:
        grades.setdefault(cipher_grade(name), []).append(name)
    rules = (('broken', 'critical', 'Cipher suites without server authentication, encryption or with broken '
              'algorithms are accepted', 'Anybody on the path can read or impersonate the server.'),
             ('no_forward_secrecy', 'warning', 'Cipher suites without forward secrecy are accepted',
              'A stolen server key decrypts every recorded session.'),
             ('cbc', 'info', 'CBC cipher suites are accepted (outside the Mozilla intermediate profile)',
              'Acceptable, but older clients are the only reason to keep them.'))
    for grade, severity, title, why in rules:
        if grades.get(grade):
            out.append(_f('ciphers', severity, title, _where(f), ', '.join(grades[grade]),
                          'ECDHE or DHE suites with AES-GCM or ChaCha20 only',
                          "%s ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20' (or "
                          "ssl_min_protocol_version = 'TLSv1.3'), then reload." % why))
    return out


def _cert(f):
    return f.get('certificate')


def _c_certificate_expiry(f, t):
    cert = _cert(f)
    if not cert:
        return []
    days = cert['days_to_expiry']
    if days < 0:
        severity, observed = 'critical', 'expired on %s' % cert['not_after'][:10]
    elif days < t['cert_expiry_critical_days']:
        severity, observed = 'critical', '%d days left (until %s)' % (days, cert['not_after'][:10])
    elif days < t['cert_expiry_warning_days']:
        severity, observed = 'warning', '%d days left (until %s)' % (days, cert['not_after'][:10])
    else:
        return []
    return [_f('certificate_expiry', severity, 'The served certificate expires soon' if days >= 0 else
               'The served certificate has expired', cert['subject'], observed,
               'more than %d days left' % t['cert_expiry_warning_days'],
               'Rotate it: playbooks/rotate_certificates.yml (docs/runbooks/ssl.md).')]


def _c_certificate_name(f, t):
    cert = _cert(f)
    if not cert or name_matches(f['server_name'], cert['dns_names'], cert['ip_names'], cert['common_name']):
        return []
    names = cert['dns_names'] + cert['ip_names'] or ['CN=%s' % cert['common_name']]
    return [_f('certificate_name', 'warning', 'The certificate does not name the server', cert['subject'],
               '%s is not among %s' % (f['server_name'], ', '.join(names)), f['server_name'] + ' in the certificate',
               'Clients with sslmode=verify-full refuse it, the others can not tell the server from an impostor: '
               'issue a certificate whose subjectAltName holds every name and address clients use.')]


def _c_certificate_trust(f, t):
    cert = _cert(f)
    if not cert:
        return []
    out = []
    chain = f.get('chain')
    if chain is not None and not chain['verified']:
        out.append(_f('certificate_trust', 'warning', 'The certificate does not verify against the CA', cert['subject'],
                      chain['reason'], 'a chain to ca_file', 'Serve the certificate the CA issued, with its '
                      'intermediates in ssl_cert_file, or give the CA the clients use.'))
    elif chain is None and cert['self_signed']:
        out.append(_f('certificate_trust', 'warning', 'The certificate is self-signed', cert['subject'],
                      'issuer = subject', 'a certificate from a CA the clients trust',
                      'Clients can only pin it or skip verification: issue it from your CA (the ssl role).'))
    if cert.get('signature_hash') in ('md5', 'sha1'):
        out.append(_f('certificate_trust', 'warning', 'The certificate is signed with a broken hash', cert['subject'],
                      cert['signature_hash'], 'SHA-256 or stronger', 'Issue a new certificate signed with SHA-256.'))
    if cert.get('key_type') in ('RSA', 'DSA') and (cert.get('key_bits') or 0) < 2048:
        out.append(_f('certificate_trust', 'warning', 'The certificate key is short', cert['subject'],
                      '%s %s bits' % (cert['key_type'], cert['key_bits']), 'RSA 2048 bits or more, or ECDSA',
                      'Issue a new certificate with an RSA 3072 or ECDSA P-256 key.'))
    return out


def _login(a):
    return '%s@%s (%s)' % (a['user'], a['database'], 'TLS' if a['transport'] == 'tls' else 'no TLS')


def _c_non_tls_accepted(f, t):
    return [_f('non_tls_accepted', 'warning', 'Connections without TLS get as far as authentication', _login(a),
               'the server answered %s' % ('with the session (trust)' if a['outcome'] == 'ok' else
                                           'with an authentication request (%s)' % a['method']),
               'rejected (no pg_hba.conf entry ... no encryption)',
               'Make every TCP rule hostssl and reject the rest (postgresql_hba_nossl_reject_ranges), then reload.')
            for a in f['startup'] if a['transport'] == 'plain' and a['outcome'] in ('auth', 'ok')]


def _c_password_before_tls(f, t):
    out = []
    for a in f['startup']:
        if a['transport'] != 'plain' or a['outcome'] != 'auth' or a['method'] not in ('password', 'md5', 'sasl'):
            continue
        severity = 'critical' if a['method'] == 'password' else 'warning'
        what = {'password': 'the password in clear text', 'md5': 'an MD5 hash of the password (crackable offline)',
                'sasl': 'SCRAM (%s): the password is safe, the session that follows is not' % ', '.join(a['mechanisms'])}
        out.append(_f('password_before_tls', severity, 'A password is asked for on an unencrypted connection',
                      _login(a), 'the server asks for ' + what[a['method']], 'no password exchange without TLS',
                      'Require TLS for every password rule (hostssl) and reject hostnossl, then reload.'))
    return out


def _c_trust(f, t):
    return [_f('trust', 'critical', 'The server lets a network client in without a password', _login(a),
               'authentication ok (trust)', 'a password or certificate asked for',
               'Replace the trust rule in pg_hba.conf with scram-sha-256 or cert (the hba module), then reload.')
            for a in f['startup'] if a['outcome'] == 'ok']


def _c_weak_auth(f, t):
    out = []
    for a in f['startup']:
        if a['transport'] == 'tls' and a['outcome'] == 'auth' and a['method'] == 'md5':
            out.append(_f('weak_auth', 'warning', 'MD5 password authentication is offered', _login(a), 'md5',
                          'scram-sha-256', "password_encryption = 'scram-sha-256', reset the passwords, then make the "
                          "rules scram-sha-256 (docs/runbooks/security-audit.md)."))
    return out


def _c_version(f, t):
    v = f.get('version') or {}
    if not v.get('running'):
        return [_f('version', 'info', 'The server version was not read', _where(f), v.get('why') or
                   'the server tells its version only after a login', 'the version read',
                   'Give login_user and login_password (a monitoring role) to compare it with the packaged minor.')]
    out = []
    if v.get('source') == 'trust':
        out.append(_f('version', 'info', 'The server tells its version to anybody', _where(f), v['running'],
                      'disclosed after a login only', 'Remove the trust rule (outside.trust).'))
    running, latest = _release(v['running']), _release(v.get('latest'))
    if running and latest and running[0] == latest[0] and running[1] < latest[1]:
        behind = latest[1] - running[1]
        out.append(_f('version', 'warning', 'The server runs an old minor release', _where(f),
                      'running %d.%d, packaged %d.%d: %d release%s behind' % (running + latest + (
                          behind, '' if behind == 1 else 's')), 'the packaged minor release',
                      'Minor releases fix published vulnerabilities: playbooks/upgrade_minor.yml.'))
    return out


def _release(text):
    found = re.search(r'(\d+)\.(\d+)', text or '')
    return (int(found.group(1)), int(found.group(2))) if found else None


THRESHOLDS = (Threshold('cert_expiry_critical_days', 7, 'int', 'a served certificate with fewer days left is critical'),
              Threshold('cert_expiry_warning_days', 30, 'int', 'a served certificate with fewer days left is a warning',
                        at_least='cert_expiry_critical_days'))


def _check(name, evaluate, title, facts=('tls',)):
    return Check('outside.' + name, 'server', evaluate, name=name, title=title, facts=facts, runbook=RUNBOOK,
                 cadence=('quarterly',), thresholds=THRESHOLDS if name == 'certificate_expiry' else ())


CHECKS = [
    _check('reachable', _c_reachable, 'The server answers on its port'),
    _check('tls_offered', _c_tls_offered, 'The server offers TLS'),
    _check('tls_versions', _c_tls_versions, 'Only TLS 1.2 or newer is accepted'),
    _check('ciphers', _c_ciphers, 'Only strong cipher suites are accepted'),
    _check('certificate_expiry', _c_certificate_expiry, 'The served certificate is valid for a while'),
    _check('certificate_name', _c_certificate_name, 'The certificate names the server'),
    _check('certificate_trust', _c_certificate_trust, 'The certificate chain, signature and key are sound'),
    _check('non_tls_accepted', _c_non_tls_accepted, 'Connections without TLS are rejected', facts=('startup',)),
    _check('password_before_tls', _c_password_before_tls, 'No password is asked for before TLS', facts=('startup',)),
    _check('trust', _c_trust, 'No network client gets in without a password', facts=('startup',)),
    _check('weak_auth', _c_weak_auth, 'No MD5 password authentication is offered', facts=('startup',)),
    _check('version', _c_version, 'The server runs the packaged minor release', facts=('version',)),
]

REGISTRY = Registry('outside', CHECKS)
TLS_CHECKS = ('tls_versions', 'ciphers', 'certificate_expiry', 'certificate_name', 'certificate_trust')


def evaluate(facts, thresholds, names):
    """(findings, the checks that ran): when the server can not be reached, that finding alone (skipped
    or not); when it offers no TLS, nothing about TLS (there is nothing to look at)."""
    if not facts['reachable']:
        names = ['reachable']
    elif not facts['tls_offered']:
        names = [n for n in names if n not in TLS_CHECKS]
    return REGISTRY.evaluate(facts, thresholds, names), names
