# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""A writer that commits a numbered row every few milliseconds to whichever node accepts
writes, and logs each commit the server acknowledged. Comparing that log with the rows
the (new) primary holds gives the RPO in transactions; the gaps between acknowledgements
give the write unavailability. ``analyze`` is pure; the writer runs as a daemon.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import time


TABLE_DDL = ('CREATE TABLE IF NOT EXISTS {table} (run_id text NOT NULL, seq bigint NOT NULL, '
             'committed_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run_id, seq))')
INSERT = 'INSERT INTO {table} (run_id, seq) VALUES (%s, %s)'
SURVIVORS = 'SELECT seq FROM {table} WHERE run_id = %s'


def parse_log(text):
    """``(acks, errors)``: acks as ``[(seq, epoch)]`` in order, errors as ``[(epoch, message)]``."""
    acks, errors = [], []
    for line in (text or '').splitlines():
        parts = line.split(' ', 2)
        if len(parts) >= 2 and parts[0] == 'E':
            errors.append((float(parts[1]), parts[2] if len(parts) > 2 else ''))
        elif len(parts) == 2:
            try:
                acks.append((int(parts[0]), float(parts[1])))
            except ValueError:
                continue
    return acks, errors


def analyze(acks, survivors, expect_until=None):
    """What the writer saw against what the primary kept.

    ``expect_until`` (epoch): only commits acknowledged up to then must survive (a PITR target).
    """
    present = set(survivors)
    must = [(s, t) for s, t in acks if expect_until is None or t <= expect_until]
    lost = [(s, t) for s, t in must if s not in present]
    gap, window = 0.0, None
    for (s1, t1), (s2, t2) in zip(acks, acks[1:]):
        if t2 - t1 > gap:
            gap, window = t2 - t1, [t1, t2]
    kept = [t for s, t in must if s in present]
    return {
        'acknowledged': len(acks),
        'checked': len(must),
        'lost': len(lost),
        'lost_seqs': [s for s, t in lost][:50],
        'rpo_seconds': round(max(t for s, t in lost) - max(kept), 3) if lost and kept else (0.0 if not lost else None),
        'max_unavailable_seconds': round(gap, 3),
        'unavailable_window': window,
        'first_ack': acks[0][1] if acks else None,
        'last_ack': acks[-1][1] if acks else None,
    }


def read_pid(path):
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (IOError, OSError, ValueError):
        return None


def write_loop(connect, insert, log_path, interval, stop_file):
    """Commit, log the acknowledgement, sleep; reconnect after any error. Runs until the stop
    file exists or SIGTERM arrives."""
    state = {'stop': False}

    def _term(signum, frame):
        state['stop'] = True
    signal.signal(signal.SIGTERM, _term)
    conn, seq = None, 0
    with open(log_path, 'a', buffering=1) as log:
        while not state['stop'] and not os.path.exists(stop_file):
            started = time.time()
            try:
                if conn is None:
                    conn = connect()
                seq += 1
                insert(conn, seq)
                log.write('%d %.6f\n' % (seq, time.time()))
            except Exception as exc:  # any failure is an unacknowledged commit; keep writing
                log.write('E %.6f %s\n' % (time.time(), str(exc).strip().splitlines()[0] if str(exc).strip()
                                           else exc.__class__.__name__))
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
            time.sleep(max(0.0, interval - (time.time() - started)))


def daemonize(run, pid_path):
    """Fork ``run()`` into a detached process; returns the child's pid in the parent."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        with os.fdopen(read_end) as fh:
            child = fh.read().strip()
        os.waitpid(pid, 0)
        return int(child)
    os.close(read_end)
    os.setsid()
    grandchild = os.fork()
    if grandchild:
        os._exit(0)
    os.chdir('/')
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(pid_path, 'w') as fh:
        fh.write(str(os.getpid()))
    os.write(write_end, str(os.getpid()).encode())
    os.close(write_end)
    try:
        run()
    finally:
        os._exit(0)
