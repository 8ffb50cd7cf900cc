#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: report
short_description: Write findings of pgops checks as JSON, Markdown and HTML reports
version_added: 0.1.0
description:
  - Takes the results of checking modules (such as M(pgops.postgresql.health_check)) for one
    or more hosts and writes one report in each requested format.
  - The HTML page is self-contained (inline style, no script, no external resource), so it
    opens offline; its summary comes first, then findings by severity with their remediation.
  - A host whose result is missing or failed appears with a critical C(report.no_result) finding.
  - V(junit) writes JUnit XML (a test suite per host, a failing test case per unwaived warning or
    critical finding, waived findings skipped) for CI systems and AWX.
  - Findings that carry a C(section) (the audits) get a score per section (checks passed of checks run).
  - Files are replaced atomically and only when their content changes.
author:
  - pgops maintainers (@pgops)
options:
  dest:
    description: Directory to write the reports into; created when missing.
    type: path
    required: true
  name:
    description: Base name of the files; the extension comes from the format.
    type: str
    default: report
  title:
    description: Title of the report.
    type: str
    default: PostgreSQL health report
  results:
    description:
      - Mapping of host name to the registered result of a checking module.
      - A value without C(findings) (a failed or skipped task, or null) counts as no result.
    type: dict
    required: true
  formats:
    description: Formats to write.
    type: list
    elements: str
    choices: [json, markdown, html, junit]
    default: [json, markdown, html]
  fail_on:
    description: Severity at or above which an unwaived finding makes a host "failing" in the summary.
    type: str
    choices: [info, warning, critical]
    default: critical
  compare_with:
    description:
      - A previous JSON report of the same kind (for example last quarter's fleet summary). When the
        file exists, the report gets a C(changes) section listing new, fixed and still-open findings
        (by host, id and object). A missing file means no comparison.
    type: path
  generated_at:
    description: Time stamp printed in the report; defaults to the current UTC time.
    type: str
  mode:
    description: File mode of the reports (they can hold query texts and host names).
    type: raw
    default: '0640'
attributes:
  check_mode:
    support: full
    description: Computes the same files and reports what would change without writing.
  diff_mode:
    support: full
    description: Shows the old and new content of each changed file.
seealso:
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Write this host's report on the controller
  pgops.postgresql.report:
    dest: /var/lib/pgops/reports/daily/2026-11-24
    name: "{{ inventory_hostname }}"
    results: "{{ {inventory_hostname: health} }}"
  delegate_to: localhost

- name: Fleet summary of every host in the play
  pgops.postgresql.report:
    dest: /var/lib/pgops/reports/daily/2026-11-24
    name: fleet-summary
    title: Fleet health
    results: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'health'))) }}"
    fail_on: warning
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
files:
  description: Path of each written (or, in check mode, planned) file by format.
  returned: always
  type: dict
  sample: {json: /srv/reports/db1.json, markdown: /srv/reports/db1.md, html: /srv/reports/db1.html,
           junit: /srv/reports/db1.xml}
changed_files:
  description: Paths whose content changed (or would change in check mode).
  returned: always
  type: list
  elements: str
changes:
  description: With O(compare_with), the new, fixed and still-open findings since that report.
  returned: when compare_with names an existing file
  type: dict
summary:
  description: Counts per severity over all hosts, the worst severity, and the failing hosts.
  returned: always
  type: dict
  sample: {ok: 40, info: 2, warning: 1, critical: 0, waived: 1, worst: warning, hosts: 2,
           failing_hosts: [], fail_on: critical}
'''

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import read_bytes, write_atomic
from ansible_collections.pgops.postgresql.plugins.module_utils._report import (
    FORMATS, RENDERERS, build, host_entry)


def plan(params):
    generated = params['generated_at'] or datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M:%S UTC')
    hosts = [host_entry(host, result) for host, result in params['results'].items()]
    previous = None
    if params['compare_with'] and os.path.exists(params['compare_with']):
        try:
            with open(params['compare_with']) as fh:
                previous = json.load(fh)
        except (IOError, OSError, ValueError) as exc:
            raise ValueError("parameter 'compare_with': %s is not a readable JSON report (%s). Fix: point it at a "
                             "report written with the json format" % (params['compare_with'], exc))
    report = build(params['title'], hosts, generated, params['fail_on'], previous)
    files = {}
    writes = []
    for fmt in params['formats']:
        path = os.path.join(params['dest'], '%s.%s' % (params['name'], FORMATS[fmt]))
        files[fmt] = path
        content = to_bytes(RENDERERS[fmt](report))
        old = read_bytes(path)
        if old != content:
            writes.append((path, old, content))
    return report, files, writes


def apply(module, writes):
    dest = module.params['dest']
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o755)
    for path, dummy, content in writes:
        write_atomic(module, path, content, mode=module.params['mode'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type='path', required=True),
            name=dict(type='str', default='report'),
            title=dict(type='str', default='PostgreSQL health report'),
            results=dict(type='dict', required=True),
            formats=dict(type='list', elements='str', choices=list(FORMATS), default=['json', 'markdown', 'html']),
            fail_on=dict(type='str', choices=['info', 'warning', 'critical'], default='critical'),
            generated_at=dict(type='str'),
            compare_with=dict(type='path'),
            mode=dict(type='raw', default='0640'),
        ),
        supports_check_mode=True,
    )
    if os.sep in module.params['name'] or module.params['name'] in ('', '.', '..'):
        module.fail_json(msg="parameter 'name': %r is not a plain file name. Fix: give a base name such as "
                             "the inventory host name; put directories in 'dest'" % module.params['name'])
    if os.path.exists(module.params['dest']) and not os.path.isdir(module.params['dest']):
        module.fail_json(msg="parameter 'dest': %s exists and is not a directory. Fix: point dest at a "
                             "directory" % module.params['dest'])
    try:
        _validate.absolute_path(module.params['dest'], 'dest')
        _validate.one_line(module.params['name'], 'name')
        _validate.one_line(module.params['title'], 'title', empty=True)
        _validate.one_line(module.params['generated_at'], 'generated_at', empty=True)
        _validate.ownership(mode=module.params['mode'])
        report, files, writes = plan(module.params)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if writes and not module.check_mode:
        try:
            apply(module, writes)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot write the report into %s: %s. Fix: make the directory writable for "
                                 "the user running the task" % (module.params['dest'], exc))
    result = dict(changed=bool(writes), files=files, changed_files=[w[0] for w in writes],
                  summary=report['summary'])
    if 'changes' in report:
        result['changes'] = report['changes']
    if module._diff:
        result['diff'] = [dict(before_header=p, after_header=p,
                               before=(old or b'').decode('utf-8', 'replace'), after=new.decode('utf-8'))
                          for p, old, new in writes]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
