# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""pg_hba.conf rules: validation and rendering (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

TYPES = ('local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc')
METHODS = ('trust', 'reject', 'scram-sha-256', 'md5', 'password', 'gss', 'sspi', 'ident', 'peer', 'ldap',
           'radius', 'cert', 'pam', 'bsd')
KEYWORDS = ('all', 'samehost', 'samenet')
# Every pattern is matched with fullmatch: '$' would let a trailing newline through.
_HOSTNAME = re.compile(r'\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*')
_IPISH = re.compile(r'[0-9.:/a-fA-F]+')
_NAME = re.compile(r'[+@]?[A-Za-z0-9_.$-]+|"[^"\x00-\x1f\x7f]+"|/[^\s",#\x00-\x1f\x7f]+')
_OPTION_KEY = re.compile(r'[a-z][a-z0-9_]*')
_OPTION = re.compile(r'\s*([a-z][a-z0-9_]*)=("([^"\x00-\x1f\x7f]*)"|[^\s"#,\x00-\x1f\x7f]+)')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def _names(value, where, what):
    items = value if isinstance(value, list) else str(value).split(',')
    items = [str(i).strip() for i in items if str(i).strip()]
    if not items:
        raise ParameterError(where, 'no %s given' % what, "give 'all' or a name")
    for item in items:
        if not _NAME.fullmatch(item):
            raise ParameterError(where, '%s %r is not a valid name' % (what, item),
                                 'quote names with spaces in double quotes, or use +group / @file')
    return ','.join(items)


def _address(value, where):
    text = str(value).strip()
    if text in KEYWORDS:
        return text
    if _CONTROL.search(text):
        raise ParameterError(where, 'address %r holds a control character (a newline?)' % text,
                             'give one address on one line')
    if _IPISH.fullmatch(text) and any(ch.isdigit() for ch in text) and ('.' in text or ':' in text):
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ParameterError(where, 'address %r is not valid (%s)' % (text, exc),
                                 'write a network as ADDRESS/PREFIX with the host bits zero, e.g. 10.0.0.0/8')
        return str(net)
    if _HOSTNAME.fullmatch(text) and any(ch.isalpha() for ch in text):
        return text
    raise ParameterError(where, 'address %r is neither a network, a host name nor all/samehost/samenet' % text,
                         'write a network as ADDRESS/PREFIX, e.g. 192.168.1.0/24')


def _option_value(key, value, where):
    text = str(value)
    if _CONTROL.search(text) or '"' in text:
        raise ParameterError('%s.%s' % (where, key), 'the value holds a newline, a control character or a double '
                             'quote, which would change the structure of pg_hba.conf', 'give a plain one-line value')
    return '"%s"' % text if (re.search(r'[\s,#=]', text) or not text) else text


def _options(value, where):
    """Options as key=value tokens: keys checked, values quoted; nothing can start a new rule or a comment."""
    if not value:
        return ''
    if isinstance(value, dict):
        items = sorted(value.items())
    else:
        text = str(value)
        if _CONTROL.search(text):
            raise ParameterError(where, 'options hold a newline or a control character, which would change the '
                                 'structure of pg_hba.conf', 'give options as one line of key=value, or as a dict')
        items, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = _OPTION.match(text, pos)
            if not m:
                raise ParameterError(where, 'cannot read %r as key=value options' % text[pos:],
                                     'give key=value pairs separated by spaces (quote values with spaces in '
                                     'double quotes), or a dict')
            items.append((m.group(1), m.group(3) if m.group(3) is not None else m.group(2)))
            pos = m.end()
    parts = []
    for key, val in items:
        if not _OPTION_KEY.fullmatch(str(key)):
            raise ParameterError(where, 'option name %r is not valid' % (key,),
                                 'use a pg_hba.conf option name such as clientcert or map')
        parts.append('%s=%s' % (key, _option_value(key, val, where)))
    return ' '.join(parts)


def normalize(rules, param='rules'):
    """Validated rules as dicts of strings, in order."""
    if not rules:
        raise ParameterError(param, 'is empty: a pg_hba.conf without a rule stops the server from starting (and a '
                             'reload keeps the previous rules)', 'give at least the rule this module logs in with')
    out = []
    for index, rule in enumerate(rules or []):
        where = '%s[%d]' % (param, index)
        if not isinstance(rule, dict):
            raise ParameterError(where, 'a rule must be a dict', 'give type, database, user, address and method')
        unknown = sorted(set(rule) - set(('type', 'database', 'user', 'address', 'method', 'options', 'comment')))
        if unknown:
            raise ParameterError(where, 'unknown keys %s' % ', '.join(unknown),
                                 'use type, database, user, address, method, options, comment')
        kind = rule.get('type', 'hostssl')
        if kind not in TYPES:
            raise ParameterError(where + '.type', 'unknown type %r' % kind, 'use one of %s' % ', '.join(TYPES))
        method = rule.get('method', 'scram-sha-256')
        if method not in METHODS:
            raise ParameterError(where + '.method', 'unknown method %r' % method,
                                 'use one of %s' % ', '.join(METHODS))
        address = rule.get('address')
        if kind == 'local':
            if address:
                raise ParameterError(where + '.address', 'a local rule takes no address', 'remove address')
            address = ''
        else:
            if not address:
                raise ParameterError(where + '.address', 'a %s rule needs an address' % kind,
                                     'give a network such as 10.0.0.0/8, or all')
            address = _address(address, where + '.address')
        if method in ('peer',) and kind != 'local':
            raise ParameterError(where + '.method', 'peer works only on local rules', 'use ident, or type local')
        out.append({
            'type': kind,
            'database': _names(rule.get('database', 'all'), where + '.database', 'database'),
            'user': _names(rule.get('user', 'all'), where + '.user', 'user'),
            'address': address,
            'method': method,
            'options': _options(rule.get('options'), where + '.options'),
            'comment': _CONTROL.sub(' ', str(rule.get('comment') or '')),
        })
    return out


def render(rules, header):
    lines = ['# %s' % h for h in header.splitlines()]
    lines.append('# %-12s %-16s %-20s %-24s %s' % ('TYPE', 'DATABASE', 'USER', 'ADDRESS', 'METHOD [OPTIONS]'))
    for r in rules:
        if r['comment']:
            lines.append('# %s' % r['comment'])
        line = '%-14s %-16s %-20s %-24s %s' % (r['type'], r['database'], r['user'], r['address'], r['method'])
        if r['options']:
            line += ' ' + r['options']
        lines.append(line.rstrip())
    return '\n'.join(lines) + '\n'


def warnings(rules):
    """Rules that work but weaken security, for module warnings."""
    out = []
    for i, r in enumerate(rules):
        if r['method'] == 'trust' and r['type'] != 'local':
            out.append('rules[%d]: trust over TCP lets anyone who reaches %s log in without a password'
                       % (i, r['address']))
        if r['method'] in ('md5', 'password'):
            out.append('rules[%d]: method %s; scram-sha-256 is the secure choice' % (i, r['method']))
    return out
