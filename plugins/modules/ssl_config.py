#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ssl_config
short_description: Install a server certificate and make a cluster's TLS settings match, without a restart
version_added: 0.1.0
description:
  - Checks the certificate and key before anything changes - they must match, the certificate
    must be valid now (unless O(allow_expired)), the key must not be protected by a passphrase,
    and a key file given with O(key_src) must not be readable by group or others.
  - Installs C(server.crt), C(server.key) (mode 0600), and optionally C(root.crt) (client CA) and
    C(root.crl) into O(ssl_dir), each replaced atomically, owned by the server's user.
  - Sets C(ssl), C(ssl_cert_file), C(ssl_key_file), C(ssl_ca_file), C(ssl_crl_file),
    C(ssl_min_protocol_version), C(ssl_ciphers) and C(ssl_prefer_server_ciphers) with C(ALTER SYSTEM)
    and calls C(pg_reload_conf()). PostgreSQL reloads its TLS files on reload, so open sessions keep
    working and new connections get the new certificate.
  - After the reload it reads the certificate the server serves on O(verify_address) and fails if
    it is not the one installed (the server keeps the old one when it can not load the new one).
  - All or nothing. When a step after the first change fails (a file write, C(ALTER SYSTEM), the
    reload, the served-certificate check), the previous files (content and mode) and the previous
    C(ALTER SYSTEM) values are put back and the server is reloaded; the message says what was changed
    and what was put back.
  - Reports the certificate's subject, SANs, issuer, serial and days to expiry, and a warning
    finding C(ssl.certificate_expiry) when fewer than O(expiry_warning_days) days are left.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  ssl_dir:
    description: Directory the files are installed in (for example C(/etc/postgresql/15/main/ssl)); created when missing.
    type: path
    required: true
  cert_src:
    description: Certificate (PEM, leaf first, then intermediates) as a file on the managed host.
    type: path
  cert_content:
    description: Certificate (PEM) as text.
    type: str
  key_src:
    description: Private key (PEM, unencrypted) as a file on the managed host; must not be group or world readable.
    type: path
  key_content:
    description: Private key (PEM, unencrypted) as text. Never logged.
    type: str
  ca_src:
    description: CA certificate(s) that sign client certificates (C(ssl_ca_file)), as a file.
    type: path
  ca_content:
    description: The client CA as text.
    type: str
  crl_src:
    description: Certificate revocation list for client certificates, as a file.
    type: path
  crl_content:
    description: The CRL as text.
    type: str
  min_protocol_version:
    description: Oldest TLS version accepted.
    type: str
    choices: [TLSv1.2, TLSv1.3]
    default: TLSv1.2
  ciphers:
    description: OpenSSL cipher list for TLS 1.2 and older.
    type: str
    default: HIGH:!aNULL:!MD5
  owner:
    description: Owner of the installed files (the server's OS user).
    type: str
    default: postgres
  group:
    description: Group of the installed files.
    type: str
    default: postgres
  allow_expired:
    description: Install a certificate even if it has expired.
    type: bool
    default: false
  expiry_warning_days:
    description: Days before expiry from which a warning finding is returned.
    type: int
    default: 30
  verify_address:
    description:
      - Address the server listens on, to read the certificate it serves after the reload
        (port O(login_port)). Empty skips the check.
    type: str
    default: 127.0.0.1
attributes:
  check_mode:
    support: full
    description: Checks the files and returns the same plan without writing or reloading.
  diff_mode:
    support: full
    description: Shows the settings and the certificate (subject, serial, expiry) before and after.
requirements:
  - cryptography on the managed host
seealso:
  - module: pgops.postgresql.hba
'''

EXAMPLES = r'''
- name: Install the certificate issued by our CA and require TLS 1.2 or newer
  pgops.postgresql.ssl_config:
    login_unix_socket: /var/run/postgresql
    login_port: 5432
    ssl_dir: /etc/postgresql/15/main/ssl
    cert_src: /etc/pki/pgops/db1.crt
    key_src: /etc/pki/pgops/db1.key
    min_protocol_version: TLSv1.2

- name: Rotate with material from a vault; open sessions keep working
  pgops.postgresql.ssl_config:
    login_unix_socket: /var/run/postgresql
    ssl_dir: /etc/postgresql/15/main/ssl
    cert_content: "{{ vault_db1_cert }}"
    key_content: "{{ vault_db1_key }}"
  register: tls
'''

RETURN = r'''
certificate:
  description: The installed certificate (subject, issuer, serial, subject_alt_names, not_before, not_after, days_to_expiry).
  returned: always
  type: dict
served:
  description: The certificate the server presented after the change, with the negotiated TLS version; null when not checked.
  returned: when changed and not in check mode
  type: dict
changed_files:
  description: Installed files whose content or mode changed.
  returned: always
  type: list
  elements: str
changed_settings:
  description: Setting name to [old, new] for the settings changed with ALTER SYSTEM.
  returned: always
  type: dict
findings:
  description: C(ssl.certificate_expiry) (warning) when the certificate expires soon; otherwise one ok finding.
  returned: always
  type: list
  elements: dict
steps:
  description: >-
    The changing steps taken, in order, each with C(step), C(seconds) and C(ok) (empty when nothing
    changed and in check mode). Returned on failure too, with the failed step last.
  returned: always
  type: list
  elements: dict
'''

import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _tls
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    connect, connection_argument_spec, require_psycopg2)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import put_back, write_atomic
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import compose, identifier
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps, wait_until

FILES = (('cert', 'server.crt', 0o644), ('key', 'server.key', 0o600), ('ca', 'root.crt', 0o644),
         ('crl', 'root.crl', 0o644))


def _material(p, name):
    if p[name + '_content']:
        return to_bytes(p[name + '_content'])
    path = p[name + '_src']
    if not path:
        return None
    try:
        if name == 'key':
            mode = stat.S_IMODE(os.stat(path).st_mode)
            if mode & 0o077:
                raise ParameterError('key_src', '%s has mode %04o, so other users can read the key' % (path, mode),
                                     'chmod 600 %s' % path)
        with open(path, 'rb') as fh:
            return fh.read()
    except (IOError, OSError) as exc:
        raise ParameterError(name + '_src', 'cannot read %s (%s)' % (path, exc.strerror), 'check the path')


def _current_file(path):
    try:
        with open(path, 'rb') as fh:
            return fh.read(), stat.S_IMODE(os.stat(path).st_mode)
    except (IOError, OSError):
        return None, None


def plan(p, contents, current_settings):
    files = []
    for name, filename, mode in FILES:
        if contents.get(name) is None:
            continue
        path = os.path.join(p['ssl_dir'], filename)
        old, old_mode = _current_file(path)
        if old != contents[name] or old_mode != mode:
            files.append((path, contents[name], mode))
    target = {
        'ssl': 'on',
        'ssl_cert_file': os.path.join(p['ssl_dir'], 'server.crt'),
        'ssl_key_file': os.path.join(p['ssl_dir'], 'server.key'),
        'ssl_ca_file': os.path.join(p['ssl_dir'], 'root.crt') if contents.get('ca') else '',
        'ssl_crl_file': os.path.join(p['ssl_dir'], 'root.crl') if contents.get('crl') else '',
        'ssl_min_protocol_version': p['min_protocol_version'],
        'ssl_ciphers': p['ciphers'],
        'ssl_prefer_server_ciphers': 'on',
    }
    settings = dict((k, [current_settings.get(k), v]) for k, v in target.items() if current_settings.get(k) != v)
    return files, settings


def install(module, files):
    p = module.params
    if not os.path.isdir(p['ssl_dir']):
        os.makedirs(p['ssl_dir'], 0o750)
        module.set_owner_if_different(p['ssl_dir'], p['owner'], False)
        module.set_group_if_different(p['ssl_dir'], p['group'], False)
    for path, content, mode in files:
        write_atomic(module, path, content, p['owner'], p['group'], mode)


AUTO_CONF = ("SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%%/postgresql.auto.conf' "
             "AND name LIKE 'ssl%%' AND applied")


def _set(session, settings):
    for name, value in sorted(settings.items()):
        if value is None:
            session.fetch_all(compose('ALTER SYSTEM RESET {name}', name=identifier(name)))
        else:
            session.fetch_all(compose('ALTER SYSTEM SET {name} = %(value)s', name=identifier(name)), {'value': value})


def apply(module, session, steps, files, settings, serial):
    """Install the files, set the settings, reload, prove the new certificate is served. A failure at
    any step after the first change puts back the previous files and ALTER SYSTEM values and reloads."""
    p = module.params
    before_files = dict((path, _current_file(path)) for path, dummy, dummy2 in files)
    before_auto = dict((r['name'], r['setting']) for r in session.fetch_all(AUTO_CONF, {}))
    dir_created = not os.path.isdir(p['ssl_dir'])
    try:
        if files:
            steps.run('install %s' % ', '.join(os.path.basename(f[0]) for f in files), install, module, files)
        if settings:
            steps.run('ALTER SYSTEM SET %s' % ', '.join(sorted(settings)), _set, session,
                      dict((name, values[1]) for name, values in settings.items()))
        steps.run('reload', session.fetch_all, 'SELECT pg_reload_conf()')
        if p['verify_address']:
            return steps.run('the new certificate is served', wait_for_served, p, serial)
        return None
    except (PgopsError, OSError) as exc:
        back = []
        try:
            for path, (old, old_mode) in before_files.items():
                put_back(module, path, old, p['owner'], p['group'], old_mode)
            if dir_created and os.path.isdir(p['ssl_dir']) and not os.listdir(p['ssl_dir']):
                os.rmdir(p['ssl_dir'])
            back.append('the previous files')
            _set(session, dict((name, before_auto.get(name)) for name in settings))
            session.fetch_all('SELECT pg_reload_conf()')
            back.append('the previous ALTER SYSTEM values (reloaded)')
            try:
                _previous_served(p, session, before_files.get(os.path.join(p['ssl_dir'], 'server.crt')))
            except PgopsError:
                back[-1] += ' (the previous certificate was not seen served at %s)' % p['verify_address']
        except (PgopsError, OSError) as again:
            back.append('putting back stopped at an error: %s' % getattr(again, 'msg', again))
        failure = PgopsError('%s. Changed before the failure: %s. Put back: %s; %s.' % (
            getattr(exc, 'msg', str(exc)).rstrip('.'), ', '.join(s['step'] for s in steps.done if s['ok']) or 'nothing',
            ', '.join(back), 'the server serves what it served before' if len(back) == 2 else
            'the server may serve the new certificate: run again, or reload after fixing the files'))
        failure.left_changed = len(back) != 2
        raise failure


def _previous_served(p, session, before):
    """After putting back, wait until the previous certificate is served again (when it was)."""
    old = before and before[0]
    if old and p['verify_address'] and session.fetch_one("SELECT current_setting('ssl') = 'on' AS on")['on']:
        wait_for_served(p, _tls.describe(_tls.load_certificate(old, 'cert_src'))['serial'], timeout=5.0)


def wait_for_served(p, serial, timeout=10.0):
    last = {}

    def served():
        try:
            last['served'] = _tls.served_description(p['verify_address'], p['login_port'])
        except (OSError, ValueError):
            last['served'] = None
        return last['served'] if last['served'] and last['served']['serial'] == serial else None
    try:
        return wait_until(served, timeout, 'the new certificate being served', interval=0.2)
    except ToolError:
        seen = last.get('served')
        raise PgopsError("after the reload the server at %s:%s still serves %s, not the new certificate %s. Fix: "
                         "read the server log (a key or certificate it could not load), or set verify_address to "
                         "an address it listens on" % (p['verify_address'], p['login_port'],
                                                       'serial %s' % seen['serial'] if seen else 'no certificate',
                                                       serial))


CIPHERS = re.compile(r'^[A-Za-z0-9:+!@_.=, -]+$')
ADDRESS = re.compile(r'^[A-Za-z0-9.:-]+$')


def validate(p):
    _validate.absolute_path(p['ssl_dir'], 'ssl_dir')
    _validate.ownership(p['owner'], p['group'])
    _validate.at_least(p, 'expiry_warning_days', 0)
    if not CIPHERS.match(p['ciphers'] or ''):
        raise ParameterError('ciphers', '%r is not an OpenSSL cipher list' % p['ciphers'],
                             'use names, ":" and the !+-@ operators, for example HIGH:!aNULL:!MD5')
    if p['verify_address'] and not ADDRESS.match(p['verify_address']):
        raise ParameterError('verify_address', '%r is neither a host name nor an IP address' % p['verify_address'],
                             'give an address the server listens on, or an empty string to skip the check')


def main():
    spec = connection_argument_spec()
    spec.update(
        ssl_dir=dict(type='path', required=True),
        cert_src=dict(type='path'), cert_content=dict(type='str'),
        key_src=dict(type='path', no_log=False), key_content=dict(type='str', no_log=True),
        ca_src=dict(type='path'), ca_content=dict(type='str'),
        crl_src=dict(type='path'), crl_content=dict(type='str'),
        min_protocol_version=dict(type='str', default='TLSv1.2', choices=['TLSv1.2', 'TLSv1.3']),
        ciphers=dict(type='str', default='HIGH:!aNULL:!MD5'),
        owner=dict(type='str', default='postgres'),
        group=dict(type='str', default='postgres'),
        allow_expired=dict(type='bool', default=False),
        expiry_warning_days=dict(type='int', default=30),
        verify_address=dict(type='str', default='127.0.0.1'),
    )
    module = AnsibleModule(
        argument_spec=spec, supports_check_mode=True,
        mutually_exclusive=[('cert_src', 'cert_content'), ('key_src', 'key_content'), ('ca_src', 'ca_content'),
                            ('crl_src', 'crl_content')],
        required_one_of=[('cert_src', 'cert_content'), ('key_src', 'key_content')],
    )
    p = module.params
    result = dict(changed=False, changed_files=[], changed_settings={}, findings=[])
    steps = Steps()
    try:
        validate(p)
        _tls.require_cryptography()
        require_psycopg2()
        contents = dict((name, _material(p, name)) for name, dummy, dummy2 in FILES)
        cert = _tls.load_certificate(contents['cert'], 'cert_src' if p['cert_src'] else 'cert_content')
        key = _tls.load_key(contents['key'], 'key_src' if p['key_src'] else 'key_content')
        _tls.check_pair(cert, key, 'cert_src' if p['cert_src'] else 'cert_content', p['allow_expired'])
        if contents['ca'] is not None:
            _tls.load_certificate(contents['ca'], 'ca_src' if p['ca_src'] else 'ca_content')
        info = _tls.describe(cert)
        result['certificate'] = info
        session = connect(p, application_name='pgops_ssl_config')
        try:
            session.conn.autocommit = True
            rows = session.fetch_all("SELECT name, setting FROM pg_settings WHERE name LIKE 'ssl%%'", {})
            files, settings = plan(p, contents, dict((r['name'], r['setting']) for r in rows))
            result.update(changed=bool(files or settings), changed_files=[f[0] for f in files],
                          changed_settings=settings)
            if result['changed'] and not module.check_mode:
                result['served'] = apply(module, session, steps, files, settings, info['serial'])
        finally:
            session.close()
    except PgopsError as exc:
        result.update(steps=steps.done, changed=getattr(exc, 'left_changed', False))
        module.fail_json(msg=exc.msg, **result)
    result['steps'] = steps.done
    if info['days_to_expiry'] < p['expiry_warning_days']:
        result['findings'] = [finding('ssl.certificate_expiry', 'warning', 'The server certificate expires soon',
                                      obj=info['subject'], observed='%d days left (%s)' % (
                                          info['days_to_expiry'], info['not_after']),
                                      expected='more than %d days' % p['expiry_warning_days'],
                                      remediation='Issue a new certificate and run playbooks/rotate_certificates.yml.')]
    else:
        result['findings'] = [finding('ssl.certificate_expiry', 'ok', 'The server certificate is valid',
                                      obj=info['subject'], observed='%d days left' % info['days_to_expiry'])]
    if module._diff and result['changed']:
        result['diff'] = dict(
            before=''.join('%s = %s\n' % (k, v[0]) for k, v in sorted(settings.items())),
            after=''.join('%s = %s\n' % (k, v[1]) for k, v in sorted(settings.items())) +
            'certificate: %s serial %s until %s\n' % (info['subject'], info['serial'], info['not_after']))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
