#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: alert_rules
short_description: Write Prometheus alert rules from the thresholds of the daily check
version_added: 0.1.0
description:
  - Writes a Prometheus rule file whose alerts stand for the checks of M(pgops.postgresql.health_check) and
    M(pgops.postgresql.pool_check), with the same thresholds - O(thresholds) and O(pool_thresholds) are checked
    exactly as those modules check them, so one inventory value (C(pgops_health_thresholds),
    C(pgops_pool_thresholds)) sets both the daily finding and the alert.
  - Each check with a warning and a critical level gives two rules (C(severity=warning) from the warning level up
    to the critical one, C(severity=critical) from there); each rule carries the labels C(check) (the finding
    id) and C(service), and the annotations C(summary), C(description) and C(runbook_url) (the check's runbook
    section).
  - The values come from C(prometheus-postgres-exporter) with the queries of the C(monitoring) role
    (C(pgops-queries.yaml)) and from C(prometheus-pgbouncer-exporter). Checks those exporters can not measure
    (tables, sequences, indexes, disk space, the pool's longest wait) stay with the daily check.
  - With C(promtool) on the host, the new file is checked with C(promtool check rules) before it replaces the old
    one; a file promtool refuses is never written.
author:
  - pgops maintainers (@pgops)
options:
  dest:
    description: The rule file to write.
    type: path
    required: true
  thresholds:
    description: Thresholds of M(pgops.postgresql.health_check) (names and defaults in its documentation).
    type: dict
    default: {}
  pool_thresholds:
    description: Thresholds of M(pgops.postgresql.pool_check).
    type: dict
    default: {}
  skip_alerts:
    description: Check ids (V(health.deadlocks)) or alert names (V(PostgreSQLDeadlocks)) to leave out.
    type: list
    elements: str
    default: []
  runbook_base_url:
    description: Put in front of each check's runbook section (C(daily-health-check.md#the-checks)) in C(runbook_url).
    type: str
    default: docs/runbooks/
  labels:
    description: Labels added to every rule (for example C(team)); C(severity), C(check) and C(service) are the module's.
    type: dict
    default: {}
  rule_group:
    description: Name of the rule group.
    type: str
    default: pgops
  pool_auth_user:
    description: The pgbouncer lookup role (C(pgbouncer_auth_user)), whose pool is left out of the saturation alert.
    type: str
    default: pgbouncer_auth
  promtool:
    description: C(promtool) to check the file with; found on the PATH when left out; V(false) skips the check.
    type: str
  mode:
    description: Mode of the file.
    type: str
    default: '0644'
  owner:
    description: Owner of the file.
    type: str
  group:
    description: Group of the file.
    type: str
attributes:
  check_mode:
    support: full
    description: Returns the rules and the diff; writes nothing.
  diff_mode:
    support: full
    description: The file before and after.
seealso:
  - module: pgops.postgresql.health_check
  - module: pgops.postgresql.pool_check
'''

EXAMPLES = r'''
- name: Alert rules with the inventory's thresholds, for the Prometheus server
  pgops.postgresql.alert_rules:
    dest: /etc/prometheus/rules/pgops.yml
    thresholds: "{{ pgops_health_thresholds | default({}) }}"
    pool_thresholds: "{{ pgops_pool_thresholds | default({}) }}"
    runbook_base_url: https://dba.example.com/pgops/runbooks/
    labels: {team: dba}
  delegate_to: prometheus1
'''

RETURN = r'''
rules:
  description: The rules written (or that would be written), in order.
  returned: success
  type: list
  elements: dict
  sample: [{alert: PostgreSQLConnections, expr: "...", for: 5m, labels: {severity: warning, check: health.connections}}]
alerts:
  description: How many rules the file holds.
  returned: success
  type: int
promtool:
  description: What C(promtool check rules) said of the new file (empty when it did not run).
  returned: success
  type: str
'''

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _alerts, _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import read_text, write_atomic

try:
    import yaml
    HAS_YAML = True
except ImportError:
    HAS_YAML = False

LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]{0,62}$')
ROLE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,62}$')


def validate(p):
    _validate.absolute_path(p['dest'], 'dest')
    for key in ('runbook_base_url', 'rule_group'):
        _validate.one_line(p[key], key, empty=key == 'runbook_base_url')
    if not ROLE_NAME.match(p['pool_auth_user']):
        raise ParameterError('pool_auth_user', '%r is not a plain role name' % p['pool_auth_user'],
                             'give pgbouncer_auth_user as the pgbouncer role has it')
    for name, value in p['labels'].items():
        if not LABEL_NAME.match(name) or name in ('severity', 'check', 'service', 'alertname'):
            raise ParameterError('labels', '%r is not a label name this module may add' % name,
                                 'use letters, digits and _ (not severity, check, service or alertname)')
        _validate.one_line(str(value), 'labels.%s' % name)
    _validate.ownership(p['owner'], p['group'], p['mode'])


def check_with_promtool(module, promtool, text):
    """promtool's verdict on ``text`` (a temporary file); PgopsError when it refuses."""
    fd, path = tempfile.mkstemp(suffix='.yml', prefix='pgops-rules-')
    try:
        with os.fdopen(fd, 'w') as fh:
            fh.write(text)
        rc, out, err = module.run_command([promtool, 'check', 'rules', path])
    finally:
        os.unlink(path)
    if rc != 0:
        raise PgopsError('promtool refuses the rules (nothing was written): %s' % (err or out).strip())
    return out.strip()


def main():
    module = AnsibleModule(argument_spec=dict(
        dest=dict(type='path', required=True), thresholds=dict(type='dict', default={}),
        pool_thresholds=dict(type='dict', default={}), skip_alerts=dict(type='list', elements='str', default=[]),
        runbook_base_url=dict(type='str', default='docs/runbooks/'), labels=dict(type='dict', default={}),
        rule_group=dict(type='str', default='pgops'), pool_auth_user=dict(type='str', default='pgbouncer_auth'),
        promtool=dict(type='str'), mode=dict(type='str', default='0644'), owner=dict(type='str'),
        group=dict(type='str')), supports_check_mode=True)
    p = module.params
    try:
        if not HAS_YAML:
            raise PgopsError('PyYAML is missing for the Python that runs this module. Fix: apt-get install python3-yaml')
        validate(p)
        doc = _alerts.rules(p['thresholds'], p['pool_thresholds'], p['skip_alerts'], p['runbook_base_url'],
                            dict((k, str(v)) for k, v in p['labels'].items()), p['rule_group'], p['pool_auth_user'])
        text = '# Written by pgops.postgresql.alert_rules from the thresholds of the daily check: do not edit.\n' + \
            yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)
        old = read_text(p['dest'])
        promtool = None if p['promtool'] in ('false', 'no') else (p['promtool'] or shutil.which('promtool'))
        verdict = check_with_promtool(module, promtool, text) if promtool else ''
        if not promtool:
            module.warn('promtool was not found: the rules were not checked (apt-get install prometheus)')
        changed = old != text
        if changed and not module.check_mode:
            if not os.path.isdir(os.path.dirname(p['dest'])):
                raise ParameterError('dest', 'the directory %s does not exist' % os.path.dirname(p['dest']),
                                     'create it first (the Prometheus rules directory)')
            write_atomic(module, p['dest'], text, p['owner'], p['group'], p['mode'])
        elif not module.check_mode:
            args = module.load_file_common_arguments(dict(path=p['dest'], owner=p['owner'], group=p['group'],
                                                          mode=p['mode']))
            changed = module.set_fs_attributes_if_different(args, False)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(changed=changed, rules=doc['groups'][0]['rules'], alerts=len(doc['groups'][0]['rules']),
                     promtool=verdict, diff=dict(before=old or '', after=text, before_header=p['dest'],
                                                 after_header=p['dest']))


if __name__ == '__main__':
    main()
