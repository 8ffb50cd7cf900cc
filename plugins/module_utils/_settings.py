# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Server settings: validate against pg_settings, render one drop-in file, plan reload or restart.

Pure functions: the catalog rows come in as dicts, nothing here does I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

CATALOG = """
SELECT name, vartype, unit, context, min_val, max_val, enumvals, setting, pending_restart
  FROM pg_settings
"""

_TRUE = ('on', 'true', 'yes', '1', 't', 'y')
_FALSE = ('off', 'false', 'no', '0', 'f', 'n')
_MEMORY_UNITS = {'B': 1.0 / 1024, 'kB': 1, 'MB': 1024, 'GB': 1024 ** 2, 'TB': 1024 ** 3}
_TIME_UNITS = {'us': 0.001, 'ms': 1, 's': 1000, 'min': 60000, 'h': 3600000, 'd': 86400000}
_BASE = {'8kB': ('mem', 8), 'kB': ('mem', 1), 'MB': ('mem', 1024), 'B': ('mem', 1.0 / 1024),
         '16MB': ('mem', 16 * 1024), 'ms': ('time', 1), 's': ('time', 1000), 'min': ('time', 60000),
         'us': ('time', 0.001)}
_NUMBER = re.compile(r'^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$')
# Restart-only and managed-elsewhere names the drop-in must not carry.
FORBIDDEN = ('data_directory', 'config_file', 'hba_file', 'ident_file', 'include', 'include_dir',
             'include_if_exists')


def _catalog_by_name(rows):
    """Setting names are case-insensitive (TimeZone, timezone)."""
    return dict((r['name'].lower(), r) for r in rows)


def _suggest(name, names):
    close = difflib.get_close_matches(name, names, n=1)
    return " (did you mean '%s'?)" % close[0] if close else ''


def _split(value):
    """(number, unit) of a setting value; octal (0600) and hex (0x1F) integers as PostgreSQL reads them."""
    text = str(value).strip()
    if re.match(r'^0[0-7]+$', text):
        return float(int(text, 8)), ''
    if re.match(r'^0[xX][0-9a-fA-F]+$', text):
        return float(int(text, 16)), ''
    m = _NUMBER.match(text)
    if not m:
        return None
    return float(m.group(1)), m.group(2)


def _check_number(name, value, row):
    """Numbers with or without units, checked against the unit family and the bounds."""
    if isinstance(value, bool):
        raise ValueError('a number, not a boolean')
    if isinstance(value, (int, float)):
        number, unit = float(value), ''
    else:
        parsed = _split(value)
        if parsed is None:
            raise ValueError('a number%s' % (' with a unit' if row['unit'] else ''))
        number, unit = parsed
    if row['vartype'] == 'integer' and not unit and number != int(number):
        raise ValueError('a whole number')
    base = row['unit']
    if unit:
        family, factor = _BASE.get(base, (None, None))
        table = _MEMORY_UNITS if family == 'mem' else _TIME_UNITS if family == 'time' else {}
        if unit not in table:
            allowed = 'units of ' + ', '.join(sorted(table, key=table.get)) if table else 'plain numbers (no unit)'
            raise ValueError('a value in %s' % allowed)
        number = number * table[unit] / factor
    lo, hi = row.get('min_val'), row.get('max_val')
    if lo is not None and hi is not None and not (float(lo) <= number <= float(hi)):
        raise ValueError('between %s and %s%s' % (lo, hi, (' (in %s)' % base) if base else ''))


def validate(requested, rows, param='settings'):
    """Check every requested setting; raise ParameterError naming the first bad one."""
    catalog = _catalog_by_name(rows)
    for name in sorted(requested):
        value = requested[name]
        where = '%s.%s' % (param, name)
        if re.search(r'[\x00-\x1f\x7f]', str(value)):
            raise ParameterError(where, 'the value holds a newline or a control character, which would change the '
                                 'structure of the file', 'give a one-line value')
        if name in FORBIDDEN or name.startswith('include'):
            raise ParameterError(where, "'%s' can not be set in a drop-in" % name,
                                 'leave it to the cluster layout (pg_createcluster / postgresql.conf)')
        row = catalog.get(name.lower())
        if row is None:
            if '.' in name and re.fullmatch(r'[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$.]*', name):
                continue  # custom (extension) setting such as pgaudit.log: the extension checks it
            raise ParameterError(where, "unknown setting '%s'%s" % (name, _suggest(name.lower(), list(catalog))),
                                 'use a name from pg_settings, or an extension setting with its prefix')
        if value is None or (isinstance(value, (list, dict))):
            raise ParameterError(where, 'value %r is not a single value' % (value,),
                                 'give a string, number or boolean')
        if row['context'] == 'internal':
            raise ParameterError(where, "'%s' is fixed when the server is built or initialised" % name,
                                 'remove it: it can not be changed in a configuration file')
        try:
            if row['vartype'] == 'bool':
                if not (isinstance(value, bool) or str(value).lower() in _TRUE + _FALSE):
                    raise ValueError('on or off')
            elif row['vartype'] in ('integer', 'real'):
                _check_number(name, value, row)
            elif row['vartype'] == 'enum':
                allowed = row.get('enumvals') or []
                text = render_value(value) if isinstance(value, bool) else str(value)
                if text.lower() not in [str(a).lower() for a in allowed]:
                    raise ValueError('one of %s' % ', '.join(allowed))
        except ValueError as exc:
            raise ParameterError(where, '%r is not valid for a %s setting' % (value, row['vartype']),
                                 'give %s' % exc)


def render_value(value):
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, (int, float)):
        return str(value)
    return "'%s'" % str(value).replace('\\', '\\\\').replace("'", "''")


def render(settings, header):
    lines = ['# %s' % line for line in header.splitlines()]
    lines += ['%s = %s' % (name, render_value(settings[name])) for name in sorted(settings)]
    return '\n'.join(lines) + '\n'


_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_$.]*)\s*=?\s*(.*?)\s*$")


def parse(text):
    """name -> raw value text of a file this module wrote (comments ignored)."""
    result = {}
    for line in (text or '').splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        m = _LINE.match(stripped)
        if m:
            result[m.group(1)] = m.group(2)
    return result


def _base_number(value, row):
    """A number with or without unit, in the unit pg_settings reports it in."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    parsed = _split(value)
    if parsed is None:
        return None
    number, unit = parsed
    if unit:
        family, factor = _BASE.get(row.get('unit'), (None, None))
        table = _MEMORY_UNITS if family == 'mem' else _TIME_UNITS if family == 'time' else {}
        if unit not in table:
            return None
        number = number * table[unit] / factor
    return number


def same_as_running(value, row):
    """Whether the requested value is the one the server runs with now."""
    current = row.get('setting')
    if current is None:
        return False
    if row['vartype'] == 'bool':
        wanted = value if isinstance(value, bool) else str(value).lower() in _TRUE
        return wanted == (current == 'on')
    if row['vartype'] in ('integer', 'real'):
        number = _base_number(value, row)
        return number is not None and abs(number - float(current)) < 1e-9 * max(1.0, abs(number))
    if row['vartype'] == 'enum':
        return (render_value(value) if isinstance(value, bool) else str(value)).lower() == current.lower()
    return str(value) == current


def plan(old_text, new_text, rows, requested=None):
    """Which settings change, and whether that needs a reload or a restart.

    A name added, changed or removed in the file is "changed". It needs a restart when its context
    is ``postmaster`` and the server does not already run with the requested value (a removed
    restart-only name always does). Any other change needs a reload.
    Returns dict(changed=[names], restart=[names], action=None|'reload'|'restart').
    """
    catalog = _catalog_by_name(rows)
    requested = requested or {}
    old, new = parse(old_text), parse(new_text)
    changed = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    restart = []
    for name in changed:
        row = catalog.get(name.lower()) or {}
        if row.get('context') != 'postmaster':
            continue
        if name in requested and same_as_running(requested[name], row):
            continue
        restart.append(name)
    action = 'restart' if restart else ('reload' if changed else None)
    return {'changed': changed, 'restart': restart, 'action': action}
