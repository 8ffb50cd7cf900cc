# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Server logs read incrementally: the files, a cursor that survives rotation, and entries.

A file is known by a fingerprint of its first bytes (not its name or inode: logrotate renames and
compresses, ``log_truncate_on_rotation`` reuses names), so a rotated, renamed or compressed file
that was read already is never read again, and a new file with an old name is read from its start.
The cursor is ``{fingerprint: {'path', 'offset'}}``: where each file was read up to (a whole line or
record). Formats: ``stderr`` with any ``log_line_prefix`` (turned into a regular expression),
``csvlog`` and ``jsonlog`` (PostgreSQL 15 and later). Pure but ``read_new``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import glob
import gzip
import hashlib
import io
import json
import os
import re

FINGERPRINT_BYTES = 256
LEVELS = ('DEBUG5', 'DEBUG4', 'DEBUG3', 'DEBUG2', 'DEBUG1', 'LOG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'FATAL',
          'PANIC', 'DETAIL', 'HINT', 'QUERY', 'CONTEXT', 'STATEMENT', 'LOCATION')

# log_line_prefix escapes -> (field, pattern)
_ESCAPES = {
    'a': ('application', r'.*?'), 'u': ('user', r'[^@ ]*?'), 'd': ('database', r'\S*?'),
    'r': ('client', r'\S*?'), 'h': ('client', r'\S*?'), 'b': ('backend_type', r'.*?'),
    'p': ('pid', r'\d+'), 'P': ('leader_pid', r'\d*'), 't': ('time', r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+'),
    'm': ('time', r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+'), 'n': ('time', r'\d+\.\d+'),
    'i': ('command_tag', r'.*?'), 'e': ('sqlstate', r'[0-9A-Z]{5}'), 'c': ('session', r'[0-9a-f.]+'),
    'l': ('line', r'\d+'), 's': ('session_start', r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+'),
    'v': ('vxid', r'\S*?'), 'x': ('xid', r'\d+'), 'Q': ('query_id', r'-?\d+'),
}


def prefix_regex(prefix):
    """A compiled expression for one stderr line: the prefix's fields, then ``LEVEL:  message``.
    Fields after ``%q`` are optional (they are empty for lines outside a session)."""
    out, seen, i, optional = [], set(), 0, False
    while i < len(prefix):
        ch = prefix[i]
        if ch == '%' and i + 1 < len(prefix):
            code = prefix[i + 1]
            i += 2
            if code == '%':
                out.append('%')
            elif code == 'q':
                out.append('(?:')
                optional = True
            elif code in _ESCAPES:
                field, pattern = _ESCAPES[code]
                if field in seen:
                    out.append('(?:%s)' % pattern)
                else:
                    seen.add(field)
                    out.append('(?P<%s>%s)' % (field, pattern))
            else:
                out.append('.*?')
            continue
        out.append(re.escape(ch))
        i += 1
    body = ''.join(out) + (')?' if optional else '')
    return re.compile(r'^%s(?P<level>%s):\s+(?P<message>.*)$' % (body, '|'.join(LEVELS)))


def fingerprint(head):
    return hashlib.sha1(head).hexdigest()[:16]


def _open(path):
    return gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')


def files(patterns):
    """The log files matching ``patterns`` (globs), oldest first by modification time."""
    found = set()
    for pattern in patterns:
        found.update(p for p in glob.glob(pattern) if os.path.isfile(p))
    return sorted(found, key=lambda p: (os.path.getmtime(p), p))


def format_of(path, default='stderr'):
    name = path[:-3] if path.endswith('.gz') else path
    return 'csvlog' if name.endswith('.csv') else 'jsonlog' if name.endswith('.json') else default


def read_new(paths, cursor):
    """For each file: its fingerprint, what was not read yet (bytes, up to the last whole line) and the
    new offset. A file shorter than the fingerprint is skipped until it has grown (nothing is lost: it
    is read from its start then). Returns ([(path, key, data)], new_cursor, skipped_small)."""
    cursor = dict(cursor or {})
    out, small = [], 0
    for path in paths:
        try:
            with _open(path) as fh:
                head = fh.read(FINGERPRINT_BYTES)
                if len(head) < FINGERPRINT_BYTES:
                    small += 1
                    continue
                key = fingerprint(head)
                start = (cursor.get(key) or {}).get('offset', 0)
                fh.seek(start)
                data = fh.read()
        except (OSError, EOFError):
            continue
        end = record_end(data, format_of(path))
        if end:
            out.append((path, key, data[:end]))
        cursor[key] = {'path': path, 'offset': start + end}
    return out, cursor, small


def record_end(data, fmt):
    """Where the last whole line (csvlog: the last whole record, whose quoted fields may hold line
    breaks) of ``data`` ends; 0 when there is none yet."""
    if fmt != 'csvlog':
        return data.rfind(b'\n') + 1
    end, inside, pos = 0, False, 0
    for chunk in data.split(b'\n')[:-1]:
        inside ^= chunk.count(b'"') % 2 == 1
        pos += len(chunk) + 1
        if not inside:
            end = pos
    return end


def _stderr_entries(text, regex):
    entry = None
    for line in text.splitlines():
        m = regex.match(line)
        if m:
            if entry:
                yield entry
            entry = dict((k, v) for k, v in m.groupdict().items() if v is not None)
        elif entry and line.startswith('\t'):
            entry['message'] += '\n' + line[1:]
    if entry:
        yield entry


_CSV = ('time', 'user', 'database', 'pid', 'client', 'session', 'line', 'command_tag', 'session_start', 'vxid',
        'xid', 'level', 'sqlstate', 'message', 'detail', 'hint', 'internal_query', 'internal_query_pos', 'context',
        'query', 'query_pos', 'location', 'application', 'backend_type', 'leader_pid', 'query_id')
_JSON = {'timestamp': 'time', 'user': 'user', 'dbname': 'database', 'pid': 'pid', 'remote_host': 'client',
         'error_severity': 'level', 'state_code': 'sqlstate', 'message': 'message', 'detail': 'detail',
         'application_name': 'application', 'backend_type': 'backend_type', 'statement': 'query'}


def entries(data, fmt, regex=None):
    """Log entries (dicts with level, message and what the format holds) from new bytes of a file."""
    text = data.decode('utf-8', 'replace')
    if fmt == 'csvlog':
        for row in csv.reader(io.StringIO(text)):
            if len(row) >= 14:
                yield dict((k, v) for k, v in zip(_CSV, row) if v != '')
    elif fmt == 'jsonlog':
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            yield dict((_JSON[k], str(v)) for k, v in obj.items() if k in _JSON)
    else:
        yield from _stderr_entries(text, regex)


_NUMBERS = re.compile(r'\b\d+(\.\d+)?\b')
_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')
_POSITION = re.compile(r' at character \d+$')  # stderr appends the error position


def normalise(message):
    """A message with its values taken out, to group: 'relation "t1" does not exist' -> 'relation ? does not exist'."""
    first = _POSITION.sub('', message.split('\n', 1)[0])
    return _NUMBERS.sub('N', _QUOTED.sub('?', first))[:200]
