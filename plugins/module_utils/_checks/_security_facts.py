# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit: collecting the facts (a fixed few statements for the server, one per database,
and the files on the database host) and the helpers the section evaluators share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import shlex
import stat

from ansible_collections.pgops.postgresql.plugins.module_utils import _tls
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_security as q
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError

NOT_ASSESSED = object()
SUPPORTED_MAJOR = 14
LOOPBACK = (ipaddress.ip_network('127.0.0.0/8'), ipaddress.ip_network('::1/128'))
WEAK_CIPHERS = ('ALL', 'LOW', 'MEDIUM', 'EXP', 'EXPORT', 'NULL', 'aNULL', 'eNULL', 'RC4', 'DES', '3DES', 'MD5')


def parse_hba_text(text):
    """Rules of a pg_hba.conf file (comments, includes and continuation lines aside)."""
    rules = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line or line.startswith('include'):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        if len(tokens) < 3:
            continue
        kind = tokens[0]
        if kind == 'local':
            address, rest = None, tokens[3:]
        else:
            address, rest = tokens[3] if len(tokens) > 3 else None, tokens[4:]
            if rest and address and '/' not in address and _is_ip(address) and _is_ip(rest[0]):
                address = '%s/%s' % (address, rest[0])
                rest = rest[1:]
        rules.append({'line': number, 'type': kind, 'databases': tokens[1].split(','),
                      'users': tokens[2].split(','), 'address': address, 'method': rest[0] if rest else ''})
    return rules


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _network(address):
    if address in (None, '', 'samehost', 'samenet'):
        return None
    if address == 'all':
        return ipaddress.ip_network('0.0.0.0/0')
    try:
        return ipaddress.ip_network(address, strict=False)
    except ValueError:
        return None


def loopback_only(address):
    net = _network(address)
    if address in ('samehost',):
        return True
    return net is not None and any(net.subnet_of(lb) for lb in LOOPBACK if lb.version == net.version)


def file_facts(paths):
    """Mode and owner of the given files or directories (None when absent)."""
    out = {}
    for key, path in paths.items():
        if not path:
            continue
        try:
            st = os.stat(path)
        except OSError:
            out[key] = {'path': path, 'exists': False}
            continue
        out[key] = {'path': path, 'exists': True, 'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid,
                    'is_dir': stat.S_ISDIR(st.st_mode)}
    return out


# --------------------------------------------------------------------------- evaluate

def octal(value, default):
    text = str(value if value not in (None, '') else default)
    return int(text, 8) if text.startswith('0') else int(text)


def on(settings, name):
    return str(settings.get(name, '')).lower() in ('on', 'true', '1', 'yes')


def _hba_from_view(rows):
    rules = []
    for r in rows:
        if r['error']:
            continue
        address = r['address']
        if address and r['netmask']:
            try:
                address = str(ipaddress.ip_network('%s/%s' % (address, r['netmask']), strict=False))
            except ValueError:
                pass
        rules.append({'line': r['line_number'], 'type': r['type'], 'databases': r['database'] or [],
                      'users': r['user_name'] or [], 'address': address, 'method': r['auth_method']})
    return rules


def _abs(data_dir, path):
    if not path:
        return None
    return path if os.path.isabs(path) else os.path.join(data_dir, path)


def host_facts(settings):
    data_dir = settings.get('data_directory')
    if not data_dir or not os.path.isdir(data_dir):
        return None, None, None
    files = file_facts({
        'data_directory': data_dir, 'config_file': settings.get('config_file'), 'hba_file': settings.get('hba_file'),
        'ident_file': settings.get('ident_file'), 'ssl_key_file': _abs(data_dir, settings.get('ssl_key_file')),
        'log_directory': _abs(data_dir, settings.get('log_directory'))})
    hba = None
    try:
        with open(settings['hba_file']) as fh:
            hba = parse_hba_text(fh.read())
    except (IOError, OSError, KeyError, TypeError):
        pass
    cert = None
    cert_path = _abs(data_dir, settings.get('ssl_cert_file'))
    if cert_path and _tls.HAS_CRYPTOGRAPHY:
        try:
            with open(cert_path, 'rb') as fh:
                cert = _tls.describe(_tls.load_certificate(fh.read(), 'ssl_cert_file'))
        except (IOError, OSError, PgopsError):
            cert = None
    return files, hba, cert


def collect(pipeline, session, params):
    """Every fact of the audit: the probe, five server statements, one per database, then the host's files."""
    priv = pipeline.probe(session, 'settings and views the audit needs', ('can_monitor', 'is_superuser'),
                          'assess every check')
    settings = dict((r['name'], r['setting']) for r in session.fetch_all(q.SETTINGS, {}))
    facts = {'version_num': priv['version_num'], 'bootstrap': priv['bootstrap_superuser'], 'settings': settings,
             'roles': session.fetch_all(q.ROLES, {}),
             'md5_roles': [r['rolname'] for r in session.fetch_all(q.MD5_HASHES, {})]
             if priv['can_read_authid'] else None,
             'non_ssl_sessions': session.fetch_all(q.NON_SSL_SESSIONS, {}), 'databases': {}}
    hba_rows = session.fetch_all(q.HBA_RULES, {}) if priv['is_superuser'] else None
    facts['databases'] = pipeline.per_database(session, pipeline.databases(session, params['databases']),
                                               lambda s: s.fetch_one(q.DATABASE, {}))
    files, hba_file, cert = host_facts(settings)
    facts.update(files=files, certificate=cert, expiry_warning_days=params['expiry_warning_days'],
                 admin_roles=params['admin_roles'],
                 hba=_hba_from_view(hba_rows) if hba_rows is not None else hba_file)
    return facts
