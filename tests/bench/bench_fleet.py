# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet scale of playbooks/daily.yml (`make bench-fleet`).

200 inventory hosts (aliases spread over four real clusters on this machine, local connection),
run with forks 5, 20 and 50. For each: wall time, time per host, and the controller's memory
(the peak of the summed resident memory of ansible-playbook and its workers, sampled every
0.1 s). A run of 20 hosts at forks 5 gives the fixed cost. Results go to stdout and
build/bench/fleet.json. Machine: 2 cores, so forks above 2 buy little CPU; the figures show where
the cost grows (per host: module start-up and a connection; per fork: one worker process).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.harness.pgcluster import COLLECTIONS, PgCluster  # noqa: E402

BIN = os.path.dirname(sys.executable)
RELAXED_DISK = {'disk_free_warning_pct': 1, 'disk_free_critical_pct': 0}


def tree_rss_kb(pid):
    """Resident memory of a process and all its descendants, in kB."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as fh:
                    ppid = int(fh.read().rsplit(')', 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open('/proc/%d/status' % p) as fh:
                for line in fh:
                    if line.startswith('VmRSS:'):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def run(inventory, forks, report_dir):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               PGOPS_REPORT_DIR=report_dir, ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, '-f', str(forks),
            os.path.join(ROOT, 'playbooks', 'daily.yml')]
    peak = {'kb': 0}
    t0 = time.time()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def sample():
        while proc.poll() is None:
            peak['kb'] = max(peak['kb'], tree_rss_kb(proc.pid))
            time.sleep(0.1)
    sampler = threading.Thread(target=sample)
    sampler.start()
    out = proc.communicate()[0]
    sampler.join()
    seconds = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(out[-3000:])
    return seconds, peak['kb'] / 1024.0


def main():
    clusters = [PgCluster(settings={'autovacuum': 'off'}).start() for dummy in range(4)]
    work = tempfile.mkdtemp(prefix='pgops-fleet-')
    results = []
    try:
        for hosts, forks_list in ((20, (5,)), (200, (5, 20, 50))):
            inventory = os.path.join(work, 'hosts-%d.yml' % hosts)
            members = {}
            for i in range(hosts):
                c = clusters[i % len(clusters)]
                members['db%03d' % i] = {
                    'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                    'postgresql_version': '15', 'postgresql_cluster_name': 'fleet%d' % (i % len(clusters)),
                    'postgresql_socket_dir': c.socket_dir, 'postgresql_port': c.port,
                    'postgresql_admin_user': 'postgres', 'postgresql_data_dir': c.data_dir}
            with open(inventory, 'w') as fh:
                yaml.safe_dump({'all': {'children': {'postgresql': {'hosts': members}},
                                        'vars': {'pgops_health_thresholds': RELAXED_DISK}}}, fh)
            for forks in forks_list:
                seconds, mb = run(inventory, forks, os.path.join(work, 'reports-%d-%d' % (hosts, forks)))
                row = {'hosts': hosts, 'forks': forks, 'seconds': round(seconds, 1),
                       'per_host_ms': round(1000 * seconds / hosts), 'controller_peak_mb': round(mb)}
                results.append(row)
                print('daily.yml  %4d hosts  forks %3d  %7.1f s  %5d ms/host  controller peak %5d MB' % (
                    hosts, forks, seconds, row['per_host_ms'], row['controller_peak_mb']))
                sys.stdout.flush()
    finally:
        for c in clusters:
            c.destroy()
        subprocess.run(['rm', '-rf', work], check=False)
    os.makedirs(os.path.join(ROOT, 'build', 'bench'), exist_ok=True)
    with open(os.path.join(ROOT, 'build', 'bench', 'fleet.json'), 'w') as fh:
        json.dump(results, fh, indent=2)


if __name__ == '__main__':
    main()
