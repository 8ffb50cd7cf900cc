# SPDX-License-Identifier: GPL-3.0-or-later
"""Log parsing: prefixes to expressions, csv records that hold line breaks, reading past a rotation."""

import gzip
import os

from ansible_collections.pgops.postgresql.plugins.module_utils import _logs


def test_prefix_with_optional_session_fields():
    regex = _logs.prefix_regex('%m [%p] %q%u@%d %h ')
    m = regex.match('2026-12-03 06:49:08.843 UTC [25888] app@shop 10.0.0.5(5432) ERROR:  relation "t" does not exist')
    assert m.group('user') == 'app' and m.group('database') == 'shop' and m.group('level') == 'ERROR'
    m = regex.match('2026-12-03 06:49:08.770 UTC [25879] LOG:  database system is ready to accept connections')
    assert m.group('level') == 'LOG' and m.group('user') is None
    m = regex.match('2026-12-03 06:49:08.839 UTC [1] [unknown]@[unknown] [local] LOG:  connection received')
    assert m.group('client') == '[local]'


def test_special_characters_in_the_prefix_are_literal():
    regex = _logs.prefix_regex('<%t> (%e) %%|')
    m = regex.match('<2026-12-03 06:49:08 UTC> (28P01) %|FATAL:  password authentication failed for user "x"')
    assert m.group('sqlstate') == '28P01' and m.group('level') == 'FATAL'


def test_csv_record_end_keeps_a_record_with_a_line_break_whole():
    data = b'a,"one",x\nb,"two\nlines",y\nc,"unfinished\n'
    end = _logs.record_end(data, 'csvlog')
    assert data[:end] == b'a,"one",x\nb,"two\nlines",y\n'
    assert _logs.record_end(b'line one\npartial', 'stderr') == len(b'line one\n')


def test_normalise_takes_values_out():
    assert _logs.normalise('relation "t1" does not exist at character 15') == 'relation ? does not exist'
    assert _logs.normalise("value 42 is out of range for 'x'") == 'value N is out of range for ?'


def test_read_new_recognises_a_rotated_compressed_file(tmp_path):
    log = tmp_path / 'pg.log'
    lines = [b'%04d line of the log with some words to make it long enough\n' % i for i in range(10)]
    log.write_bytes(b''.join(lines[:6]))
    chunks, cursor, small = _logs.read_new([str(log)], {})
    assert chunks[0][2] == b''.join(lines[:6]) and small == 0
    with open(str(log), 'ab') as fh:
        fh.write(b''.join(lines[6:]) + b'partial')
    with open(str(log), 'rb') as src, gzip.open(str(log) + '.1.gz', 'wb') as dst:
        dst.write(src.read())
    os.unlink(str(log))
    chunks, cursor, small = _logs.read_new([str(log) + '.1.gz'], cursor)
    assert [c[2] for c in chunks] == [b''.join(lines[6:])]
    chunks, cursor, small = _logs.read_new([str(log) + '.1.gz'], cursor)
    assert chunks == []
    tiny = tmp_path / 'new.log'
    tiny.write_bytes(b'short\n')
    assert _logs.read_new([str(tiny)], cursor)[2] == 1
