# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit, sections 6 (settings and TLS) and 7 (replication).

``problems(facts)`` is pure: check id -> list of (severity, object, observed), or
(NOT_ASSESSED, reason). ``TABLE`` rows: (id, section, title, rationale, remediation).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._security_facts import (NOT_ASSESSED, WEAK_CIPHERS as _WEAK_CIPHERS, on as _on)

S6, S7 = '6 Settings and TLS', '7 Replication'

TABLE = [
    ('sec.ssl.enabled', S6, 'TLS is on', 'Without TLS, passwords and data cross the network readable.',
     'ssl = on with a CA-signed certificate (ssl role).'),
    ('sec.ssl.min_protocol', S6, 'TLS 1.2 or newer is required', 'TLS 1.0 and 1.1 are broken.',
     "ssl_min_protocol_version = 'TLSv1.2'."),
    ('sec.ssl.ciphers', S6, 'Weak ciphers are excluded', 'NULL, export, RC4, DES, MD5 and MEDIUM ciphers are weak.',
     "ssl_ciphers = 'HIGH:!aNULL:!MD5'."),
    ('sec.ssl.certificate_expiry', S6, 'The server certificate is valid for more than 30 days',
     'An expired certificate breaks verify-full clients or pushes them to weaker modes.',
     'Rotate it (playbooks/rotate_certificates.yml).'),
    ('sec.ssl.non_ssl_sessions', S6, 'No remote session is unencrypted', 'Live proof that TLS is enforced.',
     'Enforce hostssl (ssl role) and find the clients that connect without TLS.'),
    ('sec.settings.fsync', S6, 'fsync is on', 'Without fsync a crash can corrupt the cluster.', 'fsync = on.'),
    ('sec.settings.full_page_writes', S6, 'full_page_writes is on', 'Without it torn pages survive a crash.',
     'full_page_writes = on.'),
    ('sec.repl.archive_mode', S7, 'WAL archiving is on', 'Point-in-time recovery needs the archive.',
     'archive_mode = on with pgBackRest archive-push.'),
]


def problems(facts):
    """check id -> list of (severity, object, observed), or (NOT_ASSESSED, reason)."""
    s = facts['settings']
    p = {}
    p['sec.ssl.enabled'] = [] if _on(s, 'ssl') else [('critical', 'ssl', 'off')]
    p['sec.ssl.min_protocol'] = [] if not _on(s, 'ssl') or s.get('ssl_min_protocol_version') in ('TLSv1.2', 'TLSv1.3') \
        else [('warning', 'ssl_min_protocol_version', s.get('ssl_min_protocol_version'))]
    weak = [t for t in (s.get('ssl_ciphers') or '').split(':') if t and not t.startswith('!') and
            t.lstrip('+-') in _WEAK_CIPHERS]
    p['sec.ssl.ciphers'] = [('warning', 'ssl_ciphers', '%s allows %s' % (s.get('ssl_ciphers'), ', '.join(weak)))] \
        if weak and _on(s, 'ssl') else []
    cert = facts.get('certificate')
    if not _on(s, 'ssl'):
        p['sec.ssl.certificate_expiry'] = []
    elif cert is None:
        p['sec.ssl.certificate_expiry'] = (NOT_ASSESSED, 'the certificate file is not readable where the module ran')
    elif cert['days_to_expiry'] < 0:
        p['sec.ssl.certificate_expiry'] = [('critical', cert['subject'], 'expired %s' % cert['not_after'])]
    elif cert['days_to_expiry'] < facts.get('expiry_warning_days', 30):
        p['sec.ssl.certificate_expiry'] = [('warning', cert['subject'], '%d days left' % cert['days_to_expiry'])]
    else:
        p['sec.ssl.certificate_expiry'] = []
    p['sec.ssl.non_ssl_sessions'] = [('warning', 'pid %s (%s@%s from %s)' % (x['pid'], x['usename'], x['datname'],
                                                                             x['client_addr']), 'no TLS')
                                     for x in facts['non_ssl_sessions']]
    p['sec.settings.fsync'] = [] if _on(s, 'fsync') else [('critical', 'fsync', 'off')]
    p['sec.settings.full_page_writes'] = [] if _on(s, 'full_page_writes') else [('critical', 'full_page_writes', 'off')]
    p['sec.repl.archive_mode'] = [] if s.get('archive_mode') in ('on', 'always') else [
        ('warning', 'archive_mode', s.get('archive_mode'))]
    return p
