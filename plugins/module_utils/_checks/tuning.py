# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The tuning advisor: settings recommended from the host (memory, CPUs, storage), the workload and
the connection count, each with its reasoning, compared with what the server runs.

``recommend(host, workload, storage, connections)`` is pure: the same inputs give the same settings
(docs/guides/performance-tuning.md explains each formula). ``evaluate`` (through the registry) turns
a running value outside ``tolerance_pct`` of its recommendation into an info finding whose
remediation is the ``postgresql_settings`` line to apply.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'monthly-review.md#tuning-advisor'
WORKLOADS = ('web', 'oltp', 'dw', 'mixed', 'desktop')
STORAGE = ('ssd', 'hdd', 'san')
KB, MB, GB = 1024, 1024 ** 2, 1024 ** 3
# WAL between checkpoints by workload: (min_wal_size, max_wal_size)
WAL = {'web': (GB, 4 * GB), 'oltp': (2 * GB, 8 * GB), 'dw': (4 * GB, 16 * GB), 'desktop': (100 * MB, 2 * GB),
       'mixed': (GB, 4 * GB)}


def size(value):
    """Bytes as PostgreSQL writes them (whole kB, MB or GB)."""
    for unit, factor in (('GB', GB), ('MB', MB)):
        if value >= factor and value % factor == 0:
            return '%d%s' % (value // factor, unit)
    return '%dkB' % max(64, value // KB)


def approx(value):
    """Bytes for people: 6.0GB, 512.0MB."""
    for unit, factor in (('TB', GB * 1024), ('GB', GB), ('MB', MB)):
        if value >= factor:
            return '%.1f%s' % (value / float(factor), unit)
    return '%dkB' % (value // KB)


def recommend(memory, cpus, workload, storage, connections):
    """Recommended settings: name -> (value as PostgreSQL takes it, comparable number, reasoning)."""
    out = {}
    shared = memory // (16 if workload == 'desktop' else 4)
    shared -= shared % (8 * KB)
    out['shared_buffers'] = (size(shared), shared, 'a quarter of the memory (a sixteenth on a desktop): the '
                             'operating system cache holds the rest of the hot data; more rarely helps')
    cache = memory // 4 if workload == 'desktop' else memory * 3 // 4
    out['effective_cache_size'] = (size(cache - cache % MB), cache - cache % MB,
                                   'what the planner may assume is cached (shared buffers and the OS cache): '
                                   'three quarters of the memory; it allocates nothing')
    maint = min(memory // (8 if workload == 'dw' else 16), 2 * GB)
    out['maintenance_work_mem'] = (size(maint - maint % MB), maint - maint % MB,
                                   'VACUUM, CREATE INDEX and ALTER TABLE ADD FOREIGN KEY sort in it: a sixteenth '
                                   'of the memory (an eighth for a warehouse), at most 2GB (autovacuum uses '
                                   'at most 1GB of it)')
    gather = max(1, min(4, int(math.ceil(cpus / 2.0)))) if cpus >= 4 else 1
    work = (memory - shared) // (max(connections, 1) * 3) // gather
    work //= {'web': 1, 'oltp': 1, 'dw': 2, 'desktop': 6, 'mixed': 2}[workload]
    work = max(64 * KB, work - work % KB)
    out['work_mem'] = (size(work), work, 'each sort or hash of each query may take it, several times per query and '
                       'once per parallel worker: (memory - shared_buffers) / (max_connections x 3) / workers '
                       'per gather, halved for mixed and warehouse loads. With %d connections, %s each can add up '
                       'to %s: raise it per role or per query (SET work_mem) rather than for every session'
                       % (connections, size(work), approx(work * connections * 3)))
    low, high = WAL[workload]
    out['max_wal_size'] = (size(high), high, 'checkpoints come from time (checkpoint_timeout), not from WAL volume, '
                           'when max_wal_size holds the WAL of a busy checkpoint interval (min_wal_size %s)' % size(low))
    out['checkpoint_completion_target'] = ('0.9', 0.9, 'spread the checkpoint writes over 90% of the interval')
    out['random_page_cost'] = (('4', 4.0, 'rotating disks: random reads cost about four sequential ones')
                               if storage == 'hdd' else
                               ('1.1', 1.1, 'SSD and SAN: a random read costs about a sequential one, so index '
                                            'scans are chosen where they win'))
    io = {'ssd': 200, 'hdd': 2, 'san': 300}[storage]
    out['effective_io_concurrency'] = (str(io), io, 'concurrent prefetch requests for bitmap heap scans: many for '
                                       'SSD and SAN, about the spindles for rotating disks')
    out['max_parallel_workers_per_gather'] = (str(gather), gather, 'half the CPUs, at most 4, so one query does not '
                                              'take every core (1 below four CPUs)')
    out['max_parallel_workers'] = (str(cpus), cpus, 'one parallel worker per CPU across all queries')
    out['max_worker_processes'] = (str(max(8, cpus)), max(8, cpus), 'room for the parallel workers and the '
                                   'background workers of extensions (restart)')
    out['huge_pages'] = (('try', 'try', 'shared_buffers of %s: huge pages cut the page table of every backend; '
                          'reserve them (vm.nr_hugepages) and set try' % size(shared)) if shared >= 8 * GB else
                         None)
    return dict((k, v) for k, v in out.items() if v is not None)


def _number(setting):
    """A pg_settings row as a comparable number (bytes for sizes)."""
    unit, value = setting.get('unit'), setting['setting']
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    factor = {'8kB': 8 * KB, 'kB': KB, 'MB': MB, 'B': 1}.get(unit)
    return number * factor if factor else number


def _deviates(running, wanted, tolerance):
    if isinstance(wanted, str) or isinstance(running, str):
        return str(running) != str(wanted)
    if wanted == 0:
        return running != 0
    return abs(running - wanted) / float(wanted) * 100.0 > tolerance


def _evaluator(name):
    def evaluate(f, t):
        rec = f['recommended'].get(name)
        row = f['settings'].get(name)
        if not rec or not row:
            return []
        value, wanted, why = rec
        running = _number(row)
        if not _deviates(running, wanted, float(t['tolerance_pct'])):
            return []
        shown = size(int(running)) if row.get('unit') in ('8kB', 'kB', 'MB', 'B') else row['setting']
        return [finding('tuning.%s' % name, 'info', 'A setting differs from its recommendation', obj=name,
                        observed='%s (from %s)' % (shown, row.get('source') or 'default'),
                        expected='%s: %s' % (value, why),
                        remediation='postgresql_settings: {%s: "%s"} (playbooks/install.yml; %s), or record why '
                                    'this server differs' % (name, value, 'a restart' if row.get('context') ==
                                                             'postmaster' else 'a reload'))]
    return evaluate


SETTINGS = ('shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem', 'max_wal_size',
            'checkpoint_completion_target', 'random_page_cost', 'effective_io_concurrency',
            'max_parallel_workers_per_gather', 'max_parallel_workers', 'max_worker_processes', 'huge_pages')

TOLERANCE = Threshold('tolerance_pct', 50, 'pct', 'a numeric setting within this share of its recommendation '
                      'passes (the formulas are starting points, not targets)')

CHECKS = [Check('tuning.%s' % name, 'server', _evaluator(name), name=name, facts=('settings',), runbook=RUNBOOK,
                cadence=('monthly',), thresholds=(TOLERANCE,) if i == 0 else ())
          for i, name in enumerate(SETTINGS)]

REGISTRY = Registry('tuning', CHECKS)


SETTINGS_SQL = """
SELECT name, setting, unit, context, source FROM pg_settings WHERE name = ANY(%(names)s) ORDER BY name"""


def host_memory():
    """The memory this host (or its cgroup, when it is smaller) gives the server, in bytes."""
    total = None
    try:
        with open('/proc/meminfo') as fh:
            for line in fh:
                if line.startswith('MemTotal:'):
                    total = int(line.split()[1]) * KB
    except (IOError, OSError, ValueError):
        pass
    for path in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
        try:
            with open(path) as fh:
                limit = fh.read().strip()
            if limit.isdigit() and (total is None or int(limit) < total):
                total = int(limit)
        except (IOError, OSError):
            pass
    return total


def host_cpus():
    import os
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
