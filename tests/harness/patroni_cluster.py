# SPDX-License-Identifier: GPL-3.0-or-later
"""Patroni beside the native path (the Patroni integration test and bench_failover.py; prints JSON).

One etcd and two Patroni 3 nodes from Debian on loopback, started as the postgres user without
systemd and stopped by pid. The failover module drives them through the REST API
(patroni_api) while write_probe commits every 20 ms: switchover p1 -> p2, then a failover after
both the leader's Patroni and its postmaster are killed (the leader key expires after ttl).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgcluster import free_port, run_module, wait_for  # noqa: E402

SU_PASSWORD = 'bench-su'


def as_postgres(argv):
    return ['runuser', '-u', 'postgres', '--'] + argv if os.geteuid() == 0 else argv


def node_conf(base, name, etcd_port, api_port, pg_port):
    return """scope: pgopsbench
name: %(name)s
restapi: {listen: "127.0.0.1:%(api)d", connect_address: "127.0.0.1:%(api)d"}
etcd3: {host: "127.0.0.1:%(etcd)d"}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 16777216
    postgresql:
      use_pg_rewind: true
      parameters: {wal_log_hints: "on", max_wal_senders: 10, max_replication_slots: 10, wal_level: replica}
  initdb: [{encoding: UTF8}, data-checksums]
postgresql:
  listen: "127.0.0.1:%(pg)d"
  connect_address: "127.0.0.1:%(pg)d"
  data_dir: %(base)s/%(name)s
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: %(base)s/pgpass_%(name)s
  authentication:
    replication: {username: replicator, password: bench-repl}
    superuser: {username: postgres, password: %(su)s}
    rewind: {username: postgres, password: %(su)s}
  parameters: {unix_socket_directories: "%(base)s", fsync: "off"}
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 scram-sha-256
    - host replication replicator 127.0.0.1/32 scram-sha-256
""" % dict(name=name, api=api_port, etcd=etcd_port, pg=pg_port, base=base, su=SU_PASSWORD)


def start(argv, log):
    fh = open(log, 'ab')
    return subprocess.Popen(as_postgres(argv), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def cluster(api):
    with urllib.request.urlopen('http://127.0.0.1:%d/cluster' % api, timeout=2) as resp:
        return json.loads(resp.read())


def main():
    base = tempfile.mkdtemp(prefix='pgops-patroni-')
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        shutil.chown(base, 'postgres', 'postgres')
    etcd_port, peer_port = free_port(), free_port()
    procs = {}
    procs['etcd'] = start(['etcd', '--name', 'bench', '--data-dir', os.path.join(base, 'etcd'),
                           '--listen-client-urls', 'http://127.0.0.1:%d' % etcd_port,
                           '--advertise-client-urls', 'http://127.0.0.1:%d' % etcd_port,
                           '--listen-peer-urls', 'http://127.0.0.1:%d' % peer_port,
                           '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % peer_port,
                           '--initial-cluster', 'bench=http://127.0.0.1:%d' % peer_port],
                          os.path.join(base, 'etcd.log'))
    nodes = {}
    results = {}
    try:
        time.sleep(1)
        for name in ('p1', 'p2'):
            api, pg = free_port(), free_port()
            conf = os.path.join(base, name + '.yml')
            with open(conf, 'w') as fh:
                fh.write(node_conf(base, name, etcd_port, api, pg))
            if os.geteuid() == 0:
                shutil.chown(conf, 'postgres', 'postgres')
            nodes[name] = {'api': api, 'pg': pg}
            procs[name] = start(['patroni', conf], os.path.join(base, name + '.log'))
            if name == 'p1':
                assert wait_for(lambda: any(m.get('role') == 'leader' and m.get('state') == 'running'
                                            for m in _try(cluster, api)), 60, 0.5), 'no leader'
        assert wait_for(lambda: any(m.get('name') == 'p2' and m.get('state') in ('streaming', 'running')
                                    and m.get('role') == 'replica' for m in _try(cluster, nodes['p1']['api'])),
                        120, 0.5), 'p2 does not stream'
        urls = ['http://127.0.0.1:%d' % nodes[n]['api'] for n in ('p1', 'p2')]
        hosts = [dict(host='127.0.0.1', port=nodes[n]['pg']) for n in ('p1', 'p2')]
        login = dict(login_user='postgres', login_password=SU_PASSWORD)
        d = tempfile.mkdtemp(prefix='pgops-patroni-probe-')
        probe = dict(name='patroni', hosts=hosts, state_dir=d, interval_ms=20, **login)
        status = run_module('failover', dict(action='status', patroni_api=urls, **login))
        results['status_primary'] = status['primary']
        run_module('write_probe', dict(probe, state='started'))
        time.sleep(1)
        r = run_module('failover', dict(action='switchover', candidate='p2', patroni_api=urls, timeout=60, **login))
        p = run_module('write_probe', dict(probe, state='stopped'))
        results['switchover'] = {'primary': r['primary'], 'plan': r['plan'], 'module_write_unavailable_seconds': r['write_unavailable_seconds'],
                                 'writer_unavailable_seconds': p['max_unavailable_seconds'], 'lost': p['lost'],
                                 'steps': r['steps']}
        # Lose the leader's machine: its Patroni and its postmaster die together.
        assert wait_for(lambda: any(m.get('name') == 'p1' and m.get('state') in ('streaming', 'running')
                                    for m in _try(cluster, nodes['p2']['api'])), 120, 0.5), 'p1 did not rejoin'
        run_module('write_probe', dict(probe, state='started'))
        time.sleep(1)
        t0 = time.time()
        procs['p2'].send_signal(signal.SIGKILL)
        subprocess.run(['pkill', '-9', '-f', 'postgres -D %s/p2' % base], check=False)
        r = run_module('failover', dict(action='failover', candidate='p1', patroni_api=urls[:1], timeout=120,
                                        **login))
        p = run_module('write_probe', dict(probe, state='stopped'))
        results['failover'] = {'kill_to_first_write_seconds': round(time.time() - t0, 3),
                               'module_write_unavailable_seconds': r['write_unavailable_seconds'],
                               'writer_unavailable_seconds': p['max_unavailable_seconds'], 'lost': p['lost'],
                               'primary': r['primary'], 'managed_by': r['managed_by']}
    finally:
        for proc in procs.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(['pkill', '-9', '-f', base], check=False)
        time.sleep(0.5)
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(results, indent=2))


def _try(fn, *args):
    try:
        return fn(*args).get('members') or []
    except Exception:
        return []


if __name__ == '__main__':
    main()
