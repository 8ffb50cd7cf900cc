# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""pgBackRest: argument lists (never shell strings) and parsers of its output.

Known here: pgBackRest 2.45 ``verify`` reports an invalid checksum or a missing WAL segment
only in its log output (at level info) and still exits 0, so the output is parsed and the exit
code is never trusted alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, ToolError


def argv(command, stanza=None, config=None, options=None, binary='pgbackrest'):
    """``pgbackrest [--config=..] [--stanza=..] [--key=value ..] command`` as a list."""
    out = [binary]
    if config:
        out.append('--config=%s' % config)
    if stanza:
        out.append('--stanza=%s' % stanza)
    for key in sorted(options or {}):
        value = options[key]
        if value is None or value is False:
            continue
        out.append('--%s' % key if value is True else '--%s=%s' % (key, value))
    out.append(command)
    return out


def parse_info(text):
    """The stanzas of ``pgbackrest info --output=json``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ToolError('pgbackrest info printed no readable JSON (%s). Fix: check repo1-cipher-pass (a wrong pass '
                        'makes the repository unreadable), then run pgbackrest info by hand' % exc)
    if not isinstance(data, list):
        raise ToolError('pgbackrest info printed %s, not a list of stanzas' % type(data).__name__)
    return data


_INVALID = re.compile(r"INFO: (invalid checksum|invalid result|file missing|missing) '([^']+)'")
_STANZA_STATUS = re.compile(r'^\s*status: (\S+)', re.M)
_BACKUP_STATUS = re.compile(r'backup: ([^,\s]+), status: ([^,\s]+)')
_WAL_RANGE = re.compile(r"archiveId: (\S+), wal start: ([0-9A-F]{24}), wal stop: ([0-9A-F]{24})")


def parse_verify(text):
    """Problems named in ``pgbackrest verify --log-level-console=detail`` output.

    Continuous WAL ranges come as DETAIL lines; two ranges of one timeline mean a gap.
    """
    problems = []
    ranges = [{'archive_id': a, 'start': s, 'stop': e} for a, s, e in _WAL_RANGE.findall(text)]
    for kind, path in _INVALID.findall(text):
        problems.append({'kind': kind, 'file': path, 'backup': path.split('/')[0] if '/' in path else None})
    for label, status in _BACKUP_STATUS.findall(text):
        if status != 'valid':
            problems.append({'kind': 'backup %s' % status, 'file': None, 'backup': label})
    gaps = wal_gaps(ranges)
    for gap in gaps:
        problems.append({'kind': 'missing WAL', 'file': '%s..%s' % (gap['first'], gap['last']), 'backup': None})
    statuses = _STANZA_STATUS.findall(text)
    return {'status': 'error' if 'error' in statuses or problems else 'ok', 'problems': problems,
            'wal_ranges': ranges, 'wal_gaps': gaps}


def _segment_name(timeline, number):
    return '%s%08X%08X' % (timeline, number // 0x100, number % 0x100)


def wal_gaps(ranges):
    """Missing segments between consecutive continuous ranges of the same archive id and timeline."""
    gaps = []
    by_key = {}
    for r in ranges:
        by_key.setdefault((r['archive_id'], r['start'][:8]), []).append(r)
    for (archive_id, timeline), items in sorted(by_key.items()):
        items = sorted(items, key=lambda r: wal_segment_number(r['start']))
        for prev, nxt in zip(items, items[1:]):
            first = wal_segment_number(prev['stop']) + 1
            last = wal_segment_number(nxt['start']) - 1
            if last >= first:
                gaps.append({'archive_id': archive_id, 'first': _segment_name(timeline, first),
                             'last': _segment_name(timeline, last), 'segments': last - first + 1})
    return gaps


def wal_segment_number(name):
    """Position of a WAL segment file name (timeline ignored), for 16 MB segments."""
    return int(name[8:16], 16) * 0x100 + int(name[16:24], 16)


def error_text(text):
    """pgBackRest's ERROR line(s) and its last line (often a HINT), not the last line alone."""
    lines = [line.strip() for line in (text or '').strip().splitlines() if line.strip()]
    keep = [line for line in lines if 'ERROR' in line]
    if lines and lines[-1] not in keep:
        keep.append(lines[-1])
    return ' '.join(keep) or 'no output'


_TZ = re.compile(r'([+-]\d{2}(:?\d{2})?|Z|UTC)$')
_SET = re.compile(r'^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$')
_LSN = re.compile(r'^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$')


def parse_target_time(text, param):
    """A recovery target time with a time zone, as an aware datetime."""
    value = str(text).strip()
    if not _TZ.search(value):
        raise ParameterError(param, 'the time %r has no time zone' % text,
                             "add one, e.g. '2026-11-24 03:00:00+00' (recovery would otherwise use the server's)")
    iso = value.replace(' UTC', '+00:00').replace('Z', '+00:00')
    iso = re.sub(r'([+-]\d{2})$', r'\1:00', iso)
    try:
        return datetime.datetime.fromisoformat(iso)
    except ValueError:
        raise ParameterError(param, '%r is not a time' % text, "write it as 'YYYY-MM-DD HH:MM:SS+00'")


def pg_time(value):
    """A time as pgBackRest and PostgreSQL read it, with a numeric offset: 2026-11-24 03:00:00.5+00.
    (pgBackRest 2.45 selects the backup set only from a numeric offset, not ' UTC' or 'Z'.)"""
    utc = value.astimezone(datetime.timezone.utc)
    return utc.strftime('%Y-%m-%d %H:%M:%S') + ('.%06d' % utc.microsecond if utc.microsecond else '') + '+00'


def check_set(value, param='set'):
    """A backup label: 20261124-030000F, or with _20261125-030000D/I for a differential or incremental."""
    if value is not None and not _SET.match(str(value)):
        raise ParameterError(param, '%r is not a backup label' % value,
                             'give a label from pgbackrest info, e.g. 20261124-030000F or '
                             '20261124-030000F_20261125-030000I')


def check_target(target_type, target, param='target'):
    """The target of a name, lsn or xid recovery, checked before anything runs."""
    if target is None or target_type in ('time', 'immediate'):
        return
    text = str(target)
    if target_type == 'lsn' and not _LSN.match(text):
        raise ParameterError(param, '%r is not an LSN' % text, 'give it as pg_current_wal_lsn() shows it, e.g. 0/3000100')
    if target_type == 'xid' and not (text.isdigit() and 0 < int(text) < 2 ** 64):
        raise ParameterError(param, '%r is not a transaction ID' % text, 'give a positive number, e.g. 123456')
    if target_type == 'name' and (len(text) >= 64 or re.search(r'[\x00-\x1f\x7f]', text)):
        raise ParameterError(param, '%r is not a restore point name' % text,
                             'give the name given to pg_create_restore_point() (one line, under 64 bytes)')
