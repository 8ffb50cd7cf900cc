# SPDX-License-Identifier: GPL-3.0-or-later
"""The failover module against a real Patroni 3 cluster (Debian's patroni and etcd on loopback):
status, switchover and failover go through the REST API, and a 20 ms writer loses nothing."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_switchover_and_failover_go_through_patroni():
    proc = subprocess.run([sys.executable, os.path.join(os.path.dirname(HERE), 'harness', 'patroni_cluster.py')],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out['status_primary'] == 'p1'
    assert out['switchover']['primary'] == 'p2' and out['switchover']['lost'] == 0
    assert out['switchover']['plan'][0] == 'POST /switchover {"candidate": "p2", "leader": "p1"}'
    assert out['failover']['primary'] == 'p1' and out['failover']['managed_by'] == 'patroni'
