# SPDX-License-Identifier: GPL-3.0-or-later
"""Switchover and failover figures on this machine (`make bench-failover`).

- Native switchover, 5 runs back and forth, under write_probe committing every 20 ms: write
  unavailability as the writer saw it (last acknowledged commit on the old primary to the first on
  the new one), the module's own measure, acknowledged commits lost, time per step.
- Raw switchover by hand (fast stop, wait for the shutdown checkpoint, pg_promote, a write): the floor.
- Unplanned failover after kill -9 of the primary postmaster: promotion decision to first write, RPO
  with synchronous and asynchronous replication.
- Patroni 3 (Debian) with one etcd on loopback, when installed: switchover and failover through the
  REST API with the same module, measured the same way (tests/harness/patroni_cluster.py).
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgcluster import run_module, wait_for  # noqa: E402
from tests.harness.replication import ReplicaSet  # noqa: E402

RUNS = int(os.environ.get('PGOPS_BENCH_RUNS', '5'))


def probe(hosts, state, d, name='bench'):
    return run_module('write_probe', dict(state=state, name=name, hosts=hosts, login_user='postgres', state_dir=d,
                                          interval_ms=20))


def hosts_of(rs):
    return [dict(host=c.socket_dir, port=c.port) for c in rs.nodes.values()]


def kill9(c):
    with open(os.path.join(c.data_dir, 'postmaster.pid')) as fh:
        pid = int(fh.readline())
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: open('/proc/%d/stat' % pid).read().split()[2] == 'Z' if os.path.exists('/proc/%d' % pid)
             else True, 10)
    os.unlink(os.path.join(c.data_dir, 'postmaster.pid'))


def native_switchovers(d):
    rs = ReplicaSet(standbys=1)
    out = {'writer_unavailable': [], 'module_unavailable': [], 'lost': [], 'steps': {}}
    try:
        primary, standby = 'n1', 'n2'
        for i in range(RUNS):
            probe(hosts_of(rs), 'started', d)
            time.sleep(1)
            r = run_module('failover', rs.module_args(action='switchover', candidate=standby))
            time.sleep(0.5)
            p = probe(hosts_of(rs), 'stopped', d)
            out['writer_unavailable'].append(p['max_unavailable_seconds'])
            out['module_unavailable'].append(r['write_unavailable_seconds'])
            out['lost'].append(p['lost'])
            for s in r['steps']:
                key = s['step'].replace(primary, 'OLD').replace(standby, 'NEW').split(' 0/')[0]
                out['steps'].setdefault(key, []).append(s['seconds'])
            primary, standby = standby, primary
        out['raw'] = raw_switchover(rs, primary, standby)
    finally:
        rs.destroy()
    return out


def raw_switchover(rs, primary, standby):
    """The same steps by hand, without checks: fast stop, wait for the checkpoint, promote, write."""
    p, s = rs.nodes[primary], rs.nodes[standby]
    t0 = time.time()
    p.stop('fast')
    ckpt = [line.split(':', 1)[1].strip() for line in p.run([p.bin('pg_controldata'), p.data_dir]).stdout.splitlines()
            if line.startswith('Latest checkpoint location')][0]
    wait_for(lambda: s.psql("SELECT pg_last_wal_replay_lsn() > '%s'" % ckpt) == 't', 30, 0.01)
    s.psql('SELECT pg_promote(true, 60)')
    s.psql('SELECT txid_current()')
    return round(time.time() - t0, 3)


def failovers(d, synchronous):
    rs = ReplicaSet(standbys=1, synchronous='n2' if synchronous else None)
    try:
        probe(hosts_of(rs), 'started', d)
        time.sleep(2)
        kill9(rs.nodes['n1'])
        r = run_module('failover', rs.module_args(action='failover'))
        p = probe(hosts_of(rs), 'stopped', d)
        return {'decision_to_first_write': r['write_unavailable_seconds'], 'module_total': r['total_seconds'],
                'writer_gap': p['max_unavailable_seconds'], 'acknowledged': p['acknowledged'], 'lost': p['lost'],
                'rpo_seconds': p['rpo_seconds'], 'steps': r['steps']}
    finally:
        rs.destroy()


def sync_switchovers(runs=12):
    """Back-to-back switchovers of a synchronous pair: each candidate inherited
    synchronous_standby_names, which is cleared before the old primary stops (a reload just
    before pg_promote() could delay the promotion by wal_retrieve_retry_interval, 5 s)."""
    rs = ReplicaSet(standbys=1, synchronous='n2')
    out = []
    try:
        candidate = 'n2'
        for dummy in range(runs):
            out.append(run_module('failover', rs.module_args(action='switchover',
                                                             candidate=candidate))['write_unavailable_seconds'])
            candidate = 'n1' if candidate == 'n2' else 'n2'
    finally:
        rs.destroy()
    return out


def summary(values):
    return {'median': round(statistics.median(values), 3), 'max': round(max(values), 3), 'runs': values}


def main():
    d = tempfile.mkdtemp(prefix='pgops-bench-probe-')
    sw = native_switchovers(d)
    results = {
        'switchover_native': {
            'writer_unavailable_seconds': summary(sw['writer_unavailable']),
            'module_write_unavailable_seconds': summary(sw['module_unavailable']),
            'acknowledged_commits_lost': sw['lost'],
            'steps_median_seconds': dict((k, round(statistics.median(v), 3)) for k, v in sw['steps'].items()),
            'raw_by_hand_seconds': sw['raw'],
        },
        'switchover_sync_back_to_back': summary(sync_switchovers()),
        'failover_sync': failovers(d, True),
        'failover_async': failovers(d, False),
    }
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.exists('/usr/bin/patroni') and os.path.exists('/usr/bin/etcd'):
        proc = subprocess.run([sys.executable, os.path.join(os.path.dirname(here), 'harness', 'patroni_cluster.py')], capture_output=True,
                              text=True, check=False, timeout=600)
        try:
            results['patroni'] = json.loads(proc.stdout)
        except ValueError:
            results['patroni'] = {'error': (proc.stderr or proc.stdout).strip()[-2000:]}
    else:
        results['patroni'] = 'not measured: apt-get install patroni etcd-server etcd-client'
    print(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
