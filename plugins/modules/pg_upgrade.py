#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pg_upgrade
short_description: Upgrade a cluster to a new PostgreSQL major with pg_upgrade, with a way back
version_added: 0.2.0
description:
  - "O(action=check) reads the old cluster and says every reason the upgrade would be refused, all at once: the new
    major's binaries, every extension installed in every database and every C(shared_preload_libraries) entry
    available for the new major, no prepared transaction, no replication slot that would be lost, an empty new data
    directory, one file system for link and clone mode, enough free space for the mode; then it initialises a
    scratch cluster with the old one's encoding, locale and data checksums and the old configuration, and runs
    C(pg_upgrade --check) against the running old cluster. Nothing is left behind; C(changed) is false."
  - "O(action=upgrade) runs the same checks, then: C(initdb) of the new cluster with the old one's encoding, locale,
    locale provider, data checksums and bootstrap user; the old configuration carried over (C(postgresql.conf),
    C(postgresql.auto.conf), C(pg_hba.conf), C(pg_ident.conf), C(conf.d) drop-ins, certificates; in Debian's layout
    the C(/etc/postgresql) directory with its paths moved to the new major) and read by the new server; C(pg_upgrade
    --check); the old cluster stopped (the downtime starts); C(pg_upgrade) in O(mode); the new cluster started on
    the old port (the downtime ends). Then C(vacuumdb --analyze-in-stages) and C(ALTER EXTENSION ... UPDATE) for
    every extension with a newer version, and in Debian's layout the old cluster's C(start.conf) set to manual."
  - "Until the new cluster has started, the old one is untouched or can be made so: a failure at any step before puts
    everything back (the new directories removed, C(pg_control.old) renamed back in link mode, the old cluster
    started again) and the message says what was done. Once the new cluster has started in link mode, the old one
    shares its data files and must never start again (RV(point_of_no_return)); the way back is then a restore, or a
    standby kept on the old major."
  - Refusals are named - O(stop_old_cluster), O(allow_lost_slots), O(overwrite_new_data_dir) - each lifting one
    protection.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
options:
  action:
    description: V(check) reports, V(upgrade) upgrades.
    type: str
    choices: [check, upgrade]
    default: check
  cluster_name:
    description: The cluster's name in Debian's layout (C(/etc/postgresql/VERSION/NAME),
      C(/var/lib/postgresql/VERSION/NAME), C(/usr/lib/postgresql/VERSION/bin)); leave it out for plain data
      directories.
    type: str
  old_version:
    description: The old major (required with O(cluster_name); read from C(PG_VERSION) otherwise).
    type: str
  new_version:
    description: The new major (read from the new binaries when left out).
    type: str
  old_data_dir:
    description: The old data directory (Debian's when left out with O(cluster_name)).
    type: path
  old_bin_dir:
    description: The old major's binaries.
    type: path
  old_config_dir:
    description: Where the old configuration lives when not in the data directory (Debian's C(/etc/postgresql/V/NAME)).
    type: path
  new_data_dir:
    description: The new data directory; absent or empty. On the same file system as the old one for link and clone.
    type: path
  new_bin_dir:
    description: The new major's binaries.
    type: path
  new_config_dir:
    description: Where the new configuration goes when not in the data directory.
    type: path
  mode:
    description:
      - V(link) hard-links the data files (seconds, little space; the old cluster is unusable once the new one
        started), V(clone) uses reflinks (seconds on Btrfs or XFS; both stay usable), V(copy) copies them (time and
        space of the whole cluster; both stay usable).
    type: str
    choices: [link, clone, copy]
    default: link
  jobs:
    description: Parallel jobs of pg_upgrade and vacuumdb.
    type: int
    default: 2
  stop_old_cluster:
    description: The running old cluster may be stopped (the downtime starts there). Without it the upgrade is refused.
    type: bool
    default: false
  allow_lost_slots:
    description: Upgrade although replication slots exist that no standby of O(standby_names) will take again;
      pg_upgrade does not carry slots over.
    type: bool
    default: false
  standby_names:
    description: The standbys (their C(application_name)) that will be rebuilt from the new primary; their slots are
      part of the plan (the standby module creates them again) and are not refused as lost.
    type: list
    elements: str
    default: []
  overwrite_new_data_dir:
    description: Replace a non-empty O(new_data_dir) (and a configured O(new_config_dir)).
    type: bool
    default: false
  analyze:
    description: Run C(vacuumdb --all --analyze-in-stages) on the new cluster (the planner has no statistics before).
    type: bool
    default: true
  update_extensions:
    description: Run C(ALTER EXTENSION ... UPDATE) where the new major ships a newer version.
    type: bool
    default: true
  service_manager:
    description: How the clusters are started and stopped (V(auto) picks systemd, pg_ctlcluster or pg_ctl).
    type: str
    choices: [auto, systemd, pg_ctlcluster, pg_ctl]
    default: auto
  timeout:
    description: Seconds a start or stop may take.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description: Runs the checks (not C(pg_upgrade --check)) and returns the steps it would run.
  diff_mode:
    support: none
    description: RV(steps) and the message say what changed.
notes:
  - Runs on the database host as root (C(become)); the server programs run as the data directory's owner.
  - The connection options reach the old cluster (and, after the upgrade, the new one on the same port).
  - Standbys are not upgraded by pg_upgrade; rebuild them from the new primary (C(playbooks/upgrade_major.yml) does).
seealso:
  - module: pgops.postgresql.cluster_service
'''

EXAMPLES = r'''
- name: Say whether 15/main can be upgraded to 16, changing nothing
  pgops.postgresql.pg_upgrade:
    action: check
    cluster_name: main
    old_version: "15"
    new_version: "16"
    login_unix_socket: /var/run/postgresql
  register: upgrade_check

- name: Upgrade 15/main to 16 in link mode
  pgops.postgresql.pg_upgrade:
    action: upgrade
    cluster_name: main
    old_version: "15"
    new_version: "16"
    stop_old_cluster: true
    login_unix_socket: /var/run/postgresql
'''

RETURN = r'''
refusals:
  description: Every reason the upgrade is refused (empty when it can go).
  returned: always
  type: list
  elements: str
steps:
  description: The steps run (or, in check mode, to run), each with its seconds.
  returned: always
  type: list
  elements: dict
downtime_s:
  description: Seconds from the old cluster's stop to the new cluster accepting connections.
  returned: upgraded
  type: float
point_of_no_return:
  description: When the old cluster stops being a way back, for this mode.
  returned: always
  type: str
old_version:
  description: The old major.
  returned: always
  type: str
new_version:
  description: The new major.
  returned: always
  type: str
new_data_dir:
  description: The new data directory.
  returned: always
  type: str
extensions_updated:
  description: The extensions updated after the upgrade (database, name, versions).
  returned: upgraded
  type: list
  elements: str
old_port:
  description: Debian's layout - the port the old cluster moved to (its C(start.conf) is set to manual), so that
    C(pg_lsclusters) shows it down beside the new cluster on the old port, as C(pg_upgradecluster) does.
  returned: upgraded in Debian's layout
  type: int
delete_old_cluster:
  description: The script pg_upgrade wrote to remove the old cluster's files (run it once the new cluster is trusted).
  returned: upgraded
  type: str
queries:
  description: The statements run on the old cluster.
  returned: always
  type: list
  elements: str
'''

import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _upgrade, _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._service import postmaster_running

UPGRADE_STEPS = ('initdb', 'configure', 'check', 'stop_old', 'upgrade', 'start_new')


def validate(p):
    for param in ('cluster_name', 'old_version', 'new_version'):
        if p[param] is not None:
            _validate.name(p[param], param)
    for param in ('old_data_dir', 'old_bin_dir', 'old_config_dir', 'new_data_dir', 'new_bin_dir', 'new_config_dir'):
        _validate.absolute_path(p[param], param)
    if p['jobs'] < 1:
        raise ParameterError('jobs', 'must be at least 1', 'give the number of parallel jobs, e.g. 2')
    if p['timeout'] < 1:
        raise ParameterError('timeout', 'must be at least 1', 'give seconds, e.g. 120')


def check_only(up):
    """pg_upgrade --check against the running old cluster, into a scratch cluster removed afterwards."""
    scratch = up.paths.new_data + '.pgops-check'
    scratch_conf = (up.paths.new_conf + '.pgops-check') if up.paths.new_conf else None
    try:
        up.make_work()
        up.initdb(scratch)
        up.configure(scratch, scratch_conf)
        if scratch_conf:        # the scratch configuration names the scratch data directory
            path = os.path.join(scratch_conf, 'postgresql.conf')
            with open(path) as fh:
                text = fh.read()
            with open(path, 'w') as fh:
                fh.write(text.replace("'%s'" % up.paths.new_data, "'%s'" % scratch)
                         .replace("'%s/" % up.paths.new_conf, "'%s/" % scratch_conf))
        return up.pg_upgrade(True, scratch_conf or scratch)
    finally:
        for d in reversed(up.made):
            shutil.rmtree(d, ignore_errors=True)
        for d in (scratch, scratch_conf):
            if d and os.path.exists(d):
                shutil.rmtree(d, ignore_errors=True)
        up.cleanup()


def run(module, p):
    validate(p)
    runner = module.run_command
    paths = _upgrade.Paths(p, runner)
    old, queries = _upgrade.read_old(p)
    running = postmaster_running(paths.old_data)
    refusals = _upgrade.refusals(p, paths, old, runner, running)
    result = dict(changed=False, refusals=refusals, old_version=paths.old_version, new_version=paths.new_version,
                  new_data_dir=paths.new_data, point_of_no_return=_upgrade.POINT_OF_NO_RETURN[p['mode']],
                  queries=queries, steps=[])
    if refusals:
        module.fail_json(msg='the upgrade of %s to PostgreSQL %s is refused: %s' % (
            paths.old_data, paths.new_version, ' | '.join(refusals)), **result)
    up = _upgrade.Upgrade(module, p, paths, old, runner)
    if p['action'] == 'check':
        if not module.check_mode:
            result['pg_upgrade_check'] = check_only(up).strip().splitlines()[-3:]
        return result
    if module.check_mode:
        result.update(changed=True, steps=[{'step': s} for s in UPGRADE_STEPS])
        return result
    t_stop = None
    try:
        up.make_work()
        up.steps.run('initdb', up.initdb, paths.new_data)
        up.steps.run('configure', up.configure, paths.new_data, paths.new_conf)
        up.steps.run('check', up.pg_upgrade, True)
        t_stop = time.time()
        up.steps.run('stop_old', up.stop_old)
        up.steps.run('upgrade', up.pg_upgrade, False)
        up.steps.run('start_new', up.start_new)
    except Exception as exc:
        failed = up.steps.done[-1]['step'] if up.steps.done else 'the start'
        if up.past_point_of_no_return():
            up.cleanup()
            result.update(steps=up.steps.done, changed=True)
            why = getattr(exc, 'msg', None) or exc
            module.fail_json(msg='the upgrade to PostgreSQL %s failed at %s, after the new cluster started: %s. Nothing '
                                 'was put back: %s. The new cluster is in %s; read its log, fix the cause and start it '
                                 '(cluster_service).' % (paths.new_version, failed, why, result['point_of_no_return'],
                                                         paths.new_data), **result)
        done = up.put_back()
        up.cleanup()
        result['steps'] = up.steps.done
        result['changed'] = bool(done)
        state = 'running' if postmaster_running(paths.old_data) else 'stopped'
        module.fail_json(msg='the upgrade to PostgreSQL %s failed at %s: %s. Put back: %s. The old cluster (%s) is %s '
                             'and unchanged.' % (paths.new_version, failed, getattr(exc, 'msg', None) or exc,
                                                 '; '.join(done) or 'nothing had changed', paths.old_data, state),
                         **result)
    result.update(changed=True, downtime_s=round(time.time() - t_stop, 3))
    delete_script = os.path.join(up.work, 'delete_old_cluster.sh')
    keep = os.path.join(os.path.dirname(paths.new_data), 'delete_old_cluster_%s.sh' % paths.old_version)
    if os.path.exists(delete_script):
        shutil.copy2(delete_script, keep)
        result['delete_old_cluster'] = keep
    up.cleanup()
    try:
        moved = up.keep_old_stopped()
        if moved:
            result.update(old_start_conf='manual', old_port=moved)
        if p['analyze']:
            up.steps.run('analyze', up.analyze, p['login_unix_socket'] or '/var/run/postgresql')
        result['extensions_updated'] = up.steps.run('extensions', up.update_extensions, p) \
            if p['update_extensions'] else []
    except PgopsError as exc:
        result['steps'] = up.steps.done
        module.fail_json(msg='PostgreSQL %s runs in %s, but a step after the upgrade failed: %s. The old cluster stays '
                             'stopped (%s). Run the step again by hand (vacuumdb --all --analyze-in-stages, ALTER '
                             'EXTENSION ... UPDATE).' % (paths.new_version, paths.new_data, exc.msg,
                                                         result['point_of_no_return']), **result)
    result['steps'] = up.steps.done
    return result


def main():
    spec = connection_argument_spec()
    spec.update(action=dict(type='str', default='check', choices=['check', 'upgrade']),
                cluster_name=dict(type='str'), old_version=dict(type='str'), new_version=dict(type='str'),
                old_data_dir=dict(type='path'), old_bin_dir=dict(type='path'), old_config_dir=dict(type='path'),
                new_data_dir=dict(type='path'), new_bin_dir=dict(type='path'), new_config_dir=dict(type='path'),
                mode=dict(type='str', default='link', choices=list(_upgrade.MODES)),
                jobs=dict(type='int', default=2), stop_old_cluster=dict(type='bool', default=False),
                allow_lost_slots=dict(type='bool', default=False),
                standby_names=dict(type='list', elements='str', default=[]),
                overwrite_new_data_dir=dict(type='bool', default=False), analyze=dict(type='bool', default=True),
                update_extensions=dict(type='bool', default=True),
                service_manager=dict(type='str', default='auto', choices=['auto', 'systemd', 'pg_ctlcluster', 'pg_ctl']),
                timeout=dict(type='int', default=120))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module, module.params)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
