# SPDX-License-Identifier: GPL-3.0-or-later
"""Backup and restore figures on ~1 GB (pgbench scale 70), real pgBackRest (`make bench-backup`).

Measures: full backup lz4 vs gz; raw `pgbackrest restore` with process-max 1 and 2 for each;
`cp -a` of the data directory (the physical lower bound); pitr_restore end to end, split into
the raw restore, the server's recovery and promotion, and the module's own overhead; and the
restore_test RTO breakdown.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgbackrest import Stanza  # noqa: E402
from tests.harness.pgcluster import ROOT, run_module  # noqa: E402

SCALE = int(os.environ.get('PGOPS_BENCH_SCALE', '70'))


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - start, 2), out


def as_pg(argv):
    return ['runuser', '-u', 'postgres', '--'] + argv if os.geteuid() == 0 else argv


def main():
    s = Stanza().start()
    c = s.cluster
    results = {}
    scratch = tempfile.mkdtemp(prefix='pgops-bench-')
    os.chmod(scratch, 0o755)
    shutil.chown(scratch, 'postgres')
    try:
        t, dummy = timed(lambda: subprocess.run(as_pg([c.bin('pgbench'), '-i', '-q', '-s', str(SCALE), '-h',
                                                       c.socket_dir, '-p', str(c.port), 'postgres']),
                                                check=True, capture_output=True))
        results['pgbench_init_s'] = t
        results['database_size'] = c.psql("SELECT pg_size_pretty(pg_database_size('postgres'))")
        labels = {}
        for comp in ('lz4', 'gz'):
            t, dummy = timed(lambda comp=comp: s.run('--type=full', '--compress-type=%s' % comp, '--process-max=2',
                                                     'backup'))
            results['backup_full_%s_s' % comp] = t
            info = json.loads(s.run('--output=json', 'info').stdout)[0]
            labels[comp] = info['backup'][-1]['label']
            results['repo_size_%s_mb' % comp] = round(info['backup'][-1]['info']['repository']['size'] / 1e6, 1)
        c.stop()
        results['data_dir_size'] = subprocess.run(['du', '-sh', c.data_dir], capture_output=True, check=True,
                                                  text=True).stdout.split()[0]
        for comp in ('lz4', 'gz'):
            for pmax in (1, 2):
                target = os.path.join(scratch, 'r-%s-%d' % (comp, pmax))
                t, proc = timed(lambda comp=comp, pmax=pmax, target=target: s.run(
                    '--set=%s' % labels[comp], '--process-max=%d' % pmax, '--pg1-path=%s' % target,
                    '--archive-mode=off', '--type=immediate', 'restore'))
                results['raw_restore_%s_p%d_s' % (comp, pmax)] = t
                shutil.rmtree(target, ignore_errors=True)
        t, dummy = timed(lambda: subprocess.run(['cp', '-a', c.data_dir, os.path.join(scratch, 'copy')], check=True))
        results['cp_a_s'] = t
        shutil.rmtree(os.path.join(scratch, 'copy'), ignore_errors=True)
        # pitr_restore end to end over the stopped cluster, from the lz4 backup, 2 processes
        shutil.rmtree(c.data_dir)
        os.makedirs(c.data_dir, 0o700)
        shutil.chown(c.data_dir, 'postgres')
        wall, result = timed(lambda: run_module('pitr_restore', dict(
            stanza=s.name, config=s.config, data_dir=c.data_dir, bin_dir=c.bin_dir, service_manager='pg_ctl',
            target_type='immediate', set=labels['lz4'], process_max=2, delta=False)))
        tm = result['timings']
        results['pitr_restore'] = {'wall_s': wall, 'pgbackrest_restore_s': tm['restore'],
                                   'recovery_and_promotion_s': tm['start'],
                                   'module_overhead_s': round(wall - tm['restore'] - tm['start'], 2)}
        wall, result = timed(lambda: run_module('restore_test', dict(
            stanza=s.name, config=s.config, bin_dir=c.bin_dir, scratch_root=scratch, set=labels['lz4'],
            process_max=2, count_tables_limit=10)))
        results['restore_test'] = dict(result['timings'], wall_s=wall)
    finally:
        s.destroy()
        shutil.rmtree(scratch, ignore_errors=True)
    out_dir = os.path.join(ROOT, 'build', 'bench')
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'backup.json'), 'w') as fh:
        json.dump(results, fh, indent=2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
