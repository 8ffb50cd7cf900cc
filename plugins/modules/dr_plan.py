#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: dr_plan
short_description: Write the disaster recovery plan of each cluster from the inventory and the recorded history
version_added: 0.2.0
description:
  - Runs on the controller and connects to no server. Per cluster of O(clusters), the plan says the topology (roles,
    sites, synchronous standbys), the recovery objectives with the last measured values (DR drills from
    C(dr_drill/history.jsonl), restore tests from C(restore_test/*/fleet-summary.json) under O(report_dir)), where
    the backups and the WAL live, who to call, and for each scenario (the primary lost, the site lost, data
    corrupted, an operator error at a known time) the exact playbook sequence and the last time it was rehearsed.
  - Writes C(dr-plan.md) (to print and keep off the estate) and C(dr-plan.json) into O(dest), each replaced in one
    rename only when its content differs; check mode says whether they would change, diff shows the Markdown.
  - What the plan lacks is a finding (ids C(dr.*)); docs/business-continuity.md says how to use and review it.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.findings
options:
  report_dir:
    description: The reports directory on the controller (where dr_drill.yml and restore_test.yml write).
    type: path
    required: true
  dest:
    description: The directory the plan is written to; O(report_dir)/dr_plan when left out.
    type: path
  inventory:
    description: The inventory path the commands of the plan name.
    type: str
    default: INVENTORY
  clusters:
    description: The clusters (playbooks/dr_plan.yml builds them from the inventory).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The cluster's name.
        type: str
        required: true
      hosts:
        description: Its nodes, each with C(name), C(role) (primary or standby), C(address), C(port), C(site) and
          C(synchronous).
        type: list
        elements: dict
        required: true
      repository:
        description: Where the backups and the WAL go (C(host), C(path), C(type), C(stanza), C(retention_full),
          C(encrypted), C(site)); empty when there are no backups.
        type: dict
        default: {}
      rto_seconds:
        description: The recovery time objective.
        type: float
      rpo_seconds:
        description: The recovery point objective (0 means no acknowledged commit may be lost).
        type: float
      contacts:
        description: Who to call, each with C(role), C(name), C(phone), C(email).
        type: list
        elements: dict
        default: []
  now:
    description: The time the plan is written at (C(YYYY-MM-DD HH:MM:SS UTC)); the current time when left out.
    type: str
  checks:
    description:
      - The checks to run (all when empty).
      - "Known names: rehearsed, objectives, contacts, backup_location, standby_elsewhere."
    type: list
    elements: str
    default: []
  skip_checks:
    description: Checks not to run.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - "Names and defaults: rehearsal_max_age_days 92 (a scenario not rehearsed for longer is a warning)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The plan is computed; nothing is written.
  diff_mode:
    support: full
    description: The Markdown before and after.
seealso:
  - module: pgops.postgresql.sla
  - module: pgops.postgresql.failover
'''

EXAMPLES = r'''
- name: Write the DR plan of every cluster
  pgops.postgresql.dr_plan:
    report_dir: /var/lib/pgops/reports
    inventory: inventories/production
    clusters:
      - name: orders
        rto_seconds: 60
        rpo_seconds: 0
        hosts:
          - {name: db1, role: primary, address: 10.0.10.11, port: 5432, site: dc1}
          - {name: db2, role: standby, address: 10.0.10.12, port: 5432, site: dc1, synchronous: true}
          - {name: db3, role: standby, address: 10.1.10.13, port: 5432, site: dc2}
        repository: {host: backup1, path: /var/lib/pgbackrest, type: posix, stanza: main, site: dc2}
        contacts:
          - {role: on call, name: Ops rota, phone: "+44 20 0000 0000"}
'''

RETURN = r'''
plans:
  description: Per cluster, the plan (topology, objectives, measured, repository, contacts, scenarios).
  returned: success
  type: dict
clusters:
  description: Per cluster, C(findings) and C(summary), as the report module takes them.
  returned: success
  type: dict
files:
  description: The files written (or that would be).
  returned: success
  type: list
  elements: str
unreadable_reports:
  description: History files that could not be read (counted, never fatal).
  returned: success
  type: int
'''

import datetime
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _files
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import dr
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._checks.sla import seconds
from ansible_collections.pgops.postgresql.plugins.module_utils._dr_render import render_markdown
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import summarize, waiver_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._validate import one_line


def validate(p):
    names = set()
    for n, c in enumerate(p['clusters']):
        where = 'clusters[%d]' % n
        one_line(c['name'], where + '.name')
        if c['name'] in names:
            raise ParameterError(where + '.name', 'cluster %s is given twice' % c['name'], 'name each cluster once')
        names.add(c['name'])
        if not c['hosts']:
            raise ParameterError(where + '.hosts', 'is empty', 'give the nodes of the cluster')
        for m, h in enumerate(c['hosts']):
            if not isinstance(h, dict) or not h.get('name'):
                raise ParameterError('%s.hosts[%d]' % (where, m), 'has no name', 'give each node a name')
            if h.get('role') not in ('primary', 'standby'):
                raise ParameterError('%s.hosts[%d].role' % (where, m), '%r is not a role' % (h.get('role'),),
                                     'use primary or standby')
            for key in ('name', 'address', 'site'):
                one_line(h.get(key), '%s.hosts[%d].%s' % (where, m, key))
        for key in ('rto_seconds', 'rpo_seconds'):
            if c.get(key) is not None and c[key] < 0:
                raise ParameterError('%s.%s' % (where, key), 'is negative', 'give seconds, 0 or more')
        for m, contact in enumerate(c['contacts']):
            if not isinstance(contact, dict) or not (contact.get('name') or contact.get('role')):
                raise ParameterError('%s.contacts[%d]' % (where, m), 'names nobody', 'give role, name, phone, email')
    one_line(p['inventory'], 'inventory')
    if p['now'] is not None and seconds(p['now']) is None:
        raise ParameterError('now', '%r is not a time' % p['now'], 'write it as YYYY-MM-DD HH:MM:SS UTC')


def run(module):
    p = module.params
    validate(p)
    pipeline = Pipeline(dr.REGISTRY, p, 'pgops_dr_plan')
    now = seconds(p['now']) if p['now'] else time.time()
    plans, clusters, unreadable = {}, {}, 0
    for c in p['clusters']:
        history, bad = dr.rehearsals(p['report_dir'], [h['name'] for h in c['hosts']])
        unreadable += bad
        plan = dr.plan(c, history, now, p['inventory'])
        plans[c['name']] = plan
        findings = pipeline.registry.evaluate(plan, pipeline.thresholds, pipeline.selected)
        result = pipeline.finish(findings)
        clusters[c['name']] = {'findings': result['findings'], 'summary': summarize(result['findings']),
                               'metrics': plan['measured']}
    when = datetime.datetime.utcfromtimestamp(now).strftime('%Y-%m-%d')
    dest = p['dest'] or os.path.join(p['report_dir'], 'dr_plan')
    markdown = render_markdown(plans, clusters, when, p['inventory'])
    files = {os.path.join(dest, 'dr-plan.md'): markdown,
             os.path.join(dest, 'dr-plan.json'): json.dumps({'date': when, 'plans': plans, 'clusters': clusters},
                                                            indent=1, sort_keys=True, default=str) + '\n'}
    old = dict((path, _files.read_text(path)) for path in files)
    changed = [path for path, text in files.items() if old[path] != text]
    if changed and not module.check_mode:
        written = []
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest, 0o750)
            for path in changed:
                _files.write_atomic(module, path, files[path], mode='0640')
                written.append(path)
        except (IOError, OSError) as exc:
            for path in written:
                _files.put_back(module, path, old[path])
            raise PgopsError('writing %s failed (%s); %s put back' % (dest, exc, ', '.join(written) or 'nothing was'))
    result = dict(changed=bool(changed), plans=plans, clusters=clusters, files=sorted(files),
                  unreadable_reports=unreadable)
    if module._diff:
        md = os.path.join(dest, 'dr-plan.md')
        result['diff'] = {'before': old[md] or '', 'after': markdown, 'before_header': md, 'after_header': md}
    return result


def main():
    spec = waiver_argument_spec()
    spec.update(selection_argument_spec(cadence=False))
    spec.update(report_dir=dict(type='path', required=True), dest=dict(type='path'),
                inventory=dict(type='str', default='INVENTORY'), now=dict(type='str'),
                clusters=dict(type='list', elements='dict', required=True, options=dict(
                    name=dict(type='str', required=True), hosts=dict(type='list', elements='dict', required=True),
                    repository=dict(type='dict', default={}), rto_seconds=dict(type='float'),
                    rpo_seconds=dict(type='float'), contacts=dict(type='list', elements='dict', default=[]))))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        result = run(module)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
