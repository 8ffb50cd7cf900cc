# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The health area: its registry, its collection, its metrics.

The checks themselves are records in ``health_server`` (the server as a whole and the host),
``health_database`` (per database, from the server statement) and ``health_objects`` (tables,
sequences and indexes inside each database). ``evaluate`` is pure and unit-tested from tables.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import _sql_health as q
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import (
    health_database, health_objects, health_server)
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Registry
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

# Report order of the checks (the order of the module documentation).
ORDER = (
    'server_up', 'uptime', 'connections', 'idle_in_transaction', 'long_running_queries',
    'prepared_transactions', 'xid_wraparound', 'mxid_wraparound', 'replication_lag',
    'replication_slots', 'archiver', 'cache_hit_ratio', 'rollback_ratio', 'deadlocks',
    'checksum_failures', 'pending_restart', 'table_analyze', 'table_vacuum', 'sequences',
    'invalid_indexes', 'database_size', 'minor_version', 'disk_space',
)

_ALL = health_server.CHECKS + health_database.CHECKS + health_objects.CHECKS
REGISTRY = Registry('health', sorted(_ALL, key=lambda c: ORDER.index(c.name) if c.name in ORDER else len(ORDER)),
                    shared_thresholds=(health_objects.MAX_OBJECTS,))
CHECKS = tuple(REGISTRY.names)


def validate_thresholds(raw):
    """Defaults overlaid with the user's values; a bad key or value raises ParameterError."""
    return REGISTRY.validate_thresholds(raw)


def select_checks(checks, skip_checks, cadence=None):
    """The checks to run, in report order; unknown names raise ParameterError."""
    return REGISTRY.select(checks, skip_checks, cadence)


def evaluate(facts, thresholds, checks=CHECKS):
    """Findings for ``facts``: the problems found, and one ``ok`` finding per clean check.

    ``facts``: {'server': {...}, 'databases': {name: {...}}, 'disk': [...] or None}.
    """
    return REGISTRY.evaluate(facts, thresholds, checks)


# --------------------------------------------------------------------------- collect

def collect_server(session):
    """Server-wide facts in one statement (after the privilege probe)."""
    return session.fetch_one(q.SERVER, {})


def database_params(t):
    return {
        'min_rows': int(t['table_min_rows']),
        'analyze_stale_s': float(t['analyze_stale_days']) * 86400,
        'analyze_mod_ratio': float(t['analyze_stale_modified_pct']) / 100.0,
        'dead_ratio': float(t['dead_tuples_warning_pct']) / 100.0,
        'seq_pct': float(t['sequence_warning_pct']),
        'seq_steps': q.SEQUENCE_READ_STEPS,
        'max_objects': int(t['max_objects_per_check']),
    }


def collect_database(session, thresholds):
    """Per-database object facts in one statement."""
    return session.fetch_one(q.DATABASE, database_params(thresholds))


def _fs(path):
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    free = st.f_bavail * st.f_frsize
    return {'path': path, 'device': os.stat(path).st_dev, 'total_bytes': total, 'free_bytes': free,
            'free_pct': round(100.0 * free / total, 2) if total else None}


def collect_disk(data_directory):
    """Free space of the data directory and of pg_wal (when on another file system)."""
    if not data_directory or not os.path.isdir(data_directory):
        return None
    result = [_fs(data_directory)]
    wal = os.path.realpath(os.path.join(data_directory, 'pg_wal'))
    if os.path.isdir(wal):
        wal_fs = _fs(wal)
        if wal_fs['device'] != result[0]['device']:
            result.append(wal_fs)
    for item in result:
        del item['device']
    return result


_MINOR = re.compile(r'(\d+)\.(\d+)')


def _release(text):
    """'15.20' or '15.20-0+deb12u1' -> (15, 20); None when it names no release."""
    found = _MINOR.search(text or '')
    return (int(found.group(1)), int(found.group(2))) if found else None


def collect_binaries(data_directory, major, run=subprocess.run):
    """The release the running postmaster was started from, the one installed beside it now, and the
    newest one the package manager offers (Debian's apt-cache; None elsewhere)."""
    out = {'installed': None, 'candidate': None, 'replaced': None, 'binary': None}
    try:
        with open(os.path.join(data_directory, 'postmaster.pid')) as fh:
            pid = int(fh.readline().strip())
        exe = os.readlink('/proc/%d/exe' % pid)
    except (IOError, OSError, ValueError, TypeError):
        return out
    out['replaced'] = exe.endswith(' (deleted)')
    binary = exe[:-len(' (deleted)')] if out['replaced'] else exe
    out['binary'] = binary
    try:
        proc = run([binary, '-V'], capture_output=True, text=True, timeout=30, check=False)
        out['installed'] = _release(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    out['candidate'] = packaged_release(major, run)
    return out


def packaged_release(major, run=subprocess.run):
    """The newest release of ``major`` this host's package manager offers: (15, 20), or None (not Debian,
    no such package)."""
    if not (shutil.which('apt-cache') and major):
        return None
    try:
        proc = run(['apt-cache', 'policy', 'postgresql-%s' % major], capture_output=True, text=True, timeout=60,
                   check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'Candidate:\s*(\S+)', proc.stdout or '')
    return _release(found.group(1)) if found and found.group(1) != '(none)' else None


def collect(pipeline, session, params):
    """Every fact the selected checks need: the server statement, one statement per database when
    an object check runs, and the file systems of the data directory."""
    server = collect_server(session)
    databases = {}
    if pipeline.needs('databases'):
        available = [d['datname'] for d in server['databases'] if d['datallowconn'] and not d['datistemplate']]
        names = pipeline.databases(session, params['databases'], params['exclude_databases'], available=available)
        databases = pipeline.per_database(session, names, lambda s: collect_database(s, pipeline.thresholds))
    binaries = collect_binaries(server['data_directory'], server['version_num'] // 10000) \
        if pipeline.needs('binaries') else None
    return {'server': server, 'databases': databases, 'disk': collect_disk(server['data_directory']),
            'binaries': binaries}


def unreachable_finding(message):
    return finding('health.server_up', 'critical', 'The server cannot be reached', observed=message,
                   expected='accepts connections',
                   remediation='Start the cluster or fix the connection; see the message for the cause.')


def _pct(part, whole):
    return round(100.0 * part / whole, 2) if whole else None


def metrics(facts):
    """The figures behind the findings, for trending and the report's metrics table."""
    if facts is None:
        return {'reachable': False}
    s = facts['server']
    states = {}
    for sess in s['sessions']:
        states[sess['state'] or 'unknown'] = states.get(sess['state'] or 'unknown', 0) + 1
    per_db = {}
    for d in s['databases']:
        hit, read = d.get('blks_hit') or 0, d.get('blks_read') or 0
        c, r = d.get('xact_commit') or 0, d.get('xact_rollback') or 0
        per_db[d['datname'] or '(shared)'] = {
            'size_bytes': d.get('size_bytes'),
            'xid_age': d.get('xid_age'),
            'mxid_age': d.get('mxid_age'),
            'cache_hit_pct': _pct(hit, hit + read),
            'rollback_pct': _pct(r, c + r),
            'deadlocks': d.get('deadlocks'),
            'checksum_failures': d.get('checksum_failures'),
            'table_count': (facts['databases'].get(d['datname']) or {}).get('table_count'),
            'largest_tables': (facts['databases'].get(d['datname']) or {}).get('largest_tables'),
        }
    return {
        'reachable': True,
        'version': s['version'],
        'version_num': s['version_num'],
        'started_at': s['started_at'],
        'uptime_s': int(s['uptime_s']),
        'in_recovery': s['in_recovery'],
        'data_directory': s['data_directory'],
        'data_checksums': s['data_checksums'],
        'connections': s['connections'],
        'max_connections': s['max_connections'],
        'superuser_reserved_connections': s['superuser_reserved'],
        'sessions_by_state': states,
        'prepared_transactions': len(s['prepared']),
        'databases': per_db,
        'replication': s['replication'],
        'standby': s['standby'],
        'slots': s['slots'],
        'archive_mode': s['archive_mode'],
        'archiver': s['archiver'],
        'archive_ready': s['archive_ready'],
        'wal_bytes': s.get('wal_bytes'),
        'pending_restart': s['pending_restart'],
        'disk': facts['disk'],
        'binaries': facts.get('binaries'),
    }
