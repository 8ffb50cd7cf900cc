# SPDX-License-Identifier: GPL-3.0-or-later
"""Planned switchovers with the writer going through pgbouncer (`make bench-failover`).

A primary and a standby (PostgreSQL 15, TLS replication) on this machine, a pgbouncer 1.18 in front
(transaction pool of 4), and write_probe committing every 20 ms through pgbouncer on one client
connection. BENCH_RUNS (default 5) switchovers back and forth with playbooks/switchover.yml and
pgops_poolers (PAUSE before the old primary stops, retarget and RESUME after the promotion), then as
many without the pause (the module's switchover, then the pooler repointed and reloaded): errors
the client saw, acknowledged commits lost and the longest wait between two acknowledgements.
"""

import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgbouncer import PgBouncer  # noqa: E402
from tests.harness.pgcluster import run_module  # noqa: E402
from tests.harness.replication import ReplicaSet  # noqa: E402
from tests.integration.test_replication_playbooks import inventory, play, pooled  # noqa: E402

RUNS = int(os.environ.get('BENCH_RUNS', '5'))


class Tmp(str):
    """A directory as the play() helper of the tests takes it (``tmp / name``)."""

    def __truediv__(self, name):
        return Tmp(os.path.join(self, name))

    def write_text(self, text):
        with open(self, 'w') as fh:
            fh.write(text)


def acked_after(log, since, timeout):
    """Wait until the writer acknowledged a commit after ``since`` (a gap still open when the probe
    stops would not count); False when it did not within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(log) as fh:
            if any(float(line.split()[1]) > since for line in fh if line[:1].isdigit()):
                return True
        time.sleep(0.2)
    return False


def run(rs, bouncer, d, pause):
    probe = dict(name='bench', hosts=[{'host': '127.0.0.1', 'port': bouncer.port}], login_user='postgres',
                 state_dir=os.path.join(d, 'probe'), interval_ms=20)
    out = []
    candidate = 'n2'
    for dummy in range(RUNS):
        run_module('write_probe', dict(probe, state='started'))
        time.sleep(1)
        t0 = time.time()
        if pause:
            proc = play(Tmp(d), pooled(inventory(rs), bouncer), {'pgops_switchover_candidate': candidate},
                        playbook='switchover.yml')
            assert proc.returncode == 0, proc.stdout[-3000:]
        else:
            run_module('failover', rs.module_args(action='switchover', candidate=candidate))
            run_module('pool_control', bouncer.login(login_user='postgres', action='retarget', config_file=bouncer.ini,
                                                     server_host='127.0.0.1', server_port=rs.nodes[candidate].port))
        seconds = time.time() - t0
        recovered = acked_after(os.path.join(d, 'probe', 'write_probe-bench.log'), time.time(), 90)
        p = run_module('write_probe', dict(probe, state='stopped'))
        out.append({'errors': p['errors'], 'lost': p['lost'], 'longest_wait_s': p['max_unavailable_seconds'],
                    'acknowledged': p['acknowledged'], 'switchover_s': round(seconds, 2), 'recovered': recovered,
                    'first_error': (p['first_errors'] or [''])[0][:120]})
        candidate = 'n1' if candidate == 'n2' else 'n2'
    return out


def main():
    d = tempfile.mkdtemp(prefix='pgops-bench-pooled-')
    rs = ReplicaSet(standbys=1)
    bouncer = PgBouncer(rs.nodes['n1'], pool_size=4, pool_mode='transaction')
    try:
        # the pooler reaches the primary over TCP, as the playbook points it (127.0.0.1)
        run_module('pool_control', bouncer.login(login_user='postgres', action='retarget', config_file=bouncer.ini,
                                                 server_host='127.0.0.1', server_port=rs.nodes['n1'].port))
        paused = run(rs, bouncer, d, True)
        plain = run(rs, bouncer, d, False)
    finally:
        bouncer.destroy()
        rs.destroy()
    result = {}
    for name, runs in (('with PAUSE/RESUME (switchover.yml, pgops_poolers)', paused),
                       ('without PAUSE (switchover, then the pooler repointed)', plain)):
        result[name] = {'errors': [r['errors'] for r in runs], 'lost': [r['lost'] for r in runs],
                        'longest_wait_s': [r['longest_wait_s'] for r in runs],
                        'longest_wait_median_s': round(statistics.median(r['longest_wait_s'] for r in runs), 3),
                        'writer_recovered': [r['recovered'] for r in runs],
                        'first_error': [r['first_error'] for r in runs if r['first_error']][:1]}
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
