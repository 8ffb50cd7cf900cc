#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: notify
short_description: Tell people about a report's findings once - grouped, suppressed, escalated, resolved
version_added: 0.2.0
description:
  - Runs on the controller after a fleet report is written. Sends one grouped message per run (per host
    and severity, the first findings, the report's link) to each channel, for the unwaived findings at or
    above O(level) that are new, got worse, or were last sent more than O(suppress_hours) ago.
  - A critical finding still open after O(escalate_after_runs) runs in a row goes once to
    O(escalation_channels). A finding that was open and is not any more is listed as resolved.
  - State (what was sent when, how many runs each finding has been open) is kept in O(state_file); it is
    written only after every channel took the message, so a failed send is tried again next run.
  - Channels are webhooks (a generic JSON body, or Slack- or Teams-compatible) and e-mail over SMTP.
author:
  - pgops maintainers (@pgops)
options:
  report:
    description: The fleet report in JSON (C(fleet-summary.json)) the report module wrote.
    type: path
    required: true
  state_file:
    description: Where the notification state lives on the controller (beside the reports).
    type: path
    required: true
  level:
    description: The lowest severity that is sent.
    type: str
    choices: [warning, critical]
    default: critical
  link:
    description: Where people read the report (a URL, or the HTML report's path); default the HTML beside O(report).
    type: str
  suppress_hours:
    description: A finding already sent is sent again after this many hours if it is still open (unless it got worse).
    type: int
    default: 24
  escalate_after_runs:
    description: Send a critical finding open this many runs in a row to O(escalation_channels) (once); 0 never.
    type: int
    default: 0
  channels:
    description: Where messages go.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description: C(webhook) or C(email).
        type: str
        choices: [webhook, email]
        required: true
      url:
        description: The webhook's URL (http or https).
        type: str
      format:
        description: The webhook body - C(generic) JSON with the findings, C(slack) (C(text)), C(teams) (a MessageCard).
        type: str
        choices: [generic, slack, teams]
        default: generic
      host:
        description: SMTP server.
        type: str
      port:
        description: SMTP port.
        type: int
        default: 25
      starttls:
        description: Use STARTTLS.
        type: bool
        default: false
      username:
        description: SMTP login.
        type: str
      password:
        description: SMTP password.
        type: str
      sender:
        description: The From address.
        type: str
      to:
        description: Recipients.
        type: list
        elements: str
  escalation_channels:
    description: Where escalations go (same form as O(channels)).
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: C(webhook) or C(email).
        type: str
        choices: [webhook, email]
        required: true
      url:
        description: The webhook's URL (http or https).
        type: str
      format:
        description: The webhook body - C(generic) JSON with the findings, C(slack) (C(text)), C(teams) (a MessageCard).
        type: str
        choices: [generic, slack, teams]
        default: generic
      host:
        description: SMTP server.
        type: str
      port:
        description: SMTP port.
        type: int
        default: 25
      starttls:
        description: Use STARTTLS.
        type: bool
        default: false
      username:
        description: SMTP login.
        type: str
      password:
        description: SMTP password.
        type: str
      sender:
        description: The From address.
        type: str
      to:
        description: Recipients.
        type: list
        elements: str
attributes:
  check_mode:
    support: full
    description: Returns what would be sent; sends nothing and keeps the state as it was.
  diff_mode:
    support: none
    description: No diff.
seealso:
  - module: pgops.postgresql.report
'''

EXAMPLES = r'''
- name: Tell the on-call channel about critical findings
  pgops.postgresql.notify:
    report: /var/lib/pgops/reports/daily/2026-12-03/fleet-summary.json
    state_file: /var/lib/pgops/reports/notify-state.json
    channels:
      - {type: webhook, url: "https://hooks.slack.com/services/T000/B000/XXXX", format: slack}
      - {type: email, host: smtp.example.com, sender: pgops@example.com, to: [dba@example.com]}
    escalate_after_runs: 3
    escalation_channels:
      - {type: email, host: smtp.example.com, sender: pgops@example.com, to: [head-of-ops@example.com]}
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
sent:
  description: The findings sent in this run (host, id, object, severity).
  returned: always
  type: list
  elements: dict
escalated:
  description: The findings escalated in this run.
  returned: always
  type: list
  elements: dict
resolved:
  description: The findings that cleared since the previous run.
  returned: always
  type: list
  elements: dict
messages:
  description: How many messages went (or would go) out, per channel type.
  returned: always
  type: dict
'''

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _notify, _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import read_text, write_atomic


def check_channels(channels, param):
    for n, c in enumerate(channels):
        where = '%s[%d]' % (param, n)
        if c['type'] == 'webhook':
            if not c.get('url') or not c['url'].startswith(('http://', 'https://')):
                raise ParameterError(where + '.url', '%r is not an http(s) URL' % (c.get('url'),), 'give the webhook URL')
            _validate.one_line(c['url'], where + '.url')
        else:
            for name in ('host', 'sender'):
                if not c.get(name):
                    raise ParameterError('%s.%s' % (where, name), 'is missing', 'give the SMTP %s' % name)
                _validate.one_line(c[name], '%s.%s' % (where, name))
            if not c.get('to'):
                raise ParameterError(where + '.to', 'is empty', 'give at least one recipient')
            for address in c['to']:
                _validate.one_line(address, where + '.to')


def deliver(channels, title, findings, resolved, link):
    counts = {}
    text = _notify.message(title, findings, resolved, link)
    for n, c in enumerate(channels):
        try:
            if c['type'] == 'webhook':
                _notify.send_webhook(c['url'], _notify.payload(c['format'], title, text, findings, resolved, link))
            else:
                _notify.send_mail(c, title, text)
        except Exception as exc:  # noqa: BLE001 - any transport error is reported with the channel it hit
            raise PgopsError('%s %d (%s) could not be reached: %s. Fix: check the address; nothing was recorded as '
                             'sent, so the next run tries again' % (c['type'], n, c.get('url') or c.get('host'), exc))
        counts[c['type']] = counts.get(c['type'], 0) + 1
    return counts


def run(module):
    p = module.params
    for name in ('suppress_hours', 'escalate_after_runs'):
        _validate.at_least(p, name, 0)
    check_channels(p['channels'], 'channels')
    check_channels(p['escalation_channels'], 'escalation_channels')
    try:
        report = json.loads(read_text(p['report']) or 'null')
    except ValueError as exc:
        raise ParameterError('report', 'is not a JSON report (%s)' % exc, 'point it at the fleet-summary.json')
    if not isinstance(report, dict) or 'hosts' not in report:
        raise ParameterError('report', '%s is not a report of the report module' % p['report'],
                             'point it at the fleet-summary.json of a run')
    try:
        state = json.loads(read_text(p['state_file']) or '{}')
    except ValueError:
        state = {}
    current = _notify.open_findings(report, p['level'])
    now = int(time.time())
    send, escalate, resolved, new_state = _notify.decide(current, state, now, p['suppress_hours'] * 3600,
                                                         p['escalate_after_runs'])
    link = p['link'] or os.path.splitext(p['report'])[0] + '.html'
    title = '%s: %s' % (report.get('title', 'pgops'), (report.get('summary') or {}).get('worst', '?').upper())
    messages = {}
    if not module.check_mode:
        if send or resolved:
            messages = deliver(p['channels'], title, send, resolved, link)
        if escalate:
            for k, v in deliver(p['escalation_channels'], 'ESCALATION ' + title, escalate, [], link).items():
                messages['escalation ' + k] = v
        write_atomic(module, p['state_file'], json.dumps(new_state, sort_keys=True, indent=1) + '\n', mode='0600')
    else:
        if send or resolved:
            messages = dict((c['type'], messages.get(c['type'], 0) + 1) for c in p['channels'])
    brief = [dict(host=f['host'], id=f['id'], object=f.get('object'), severity=f['severity']) for f in send]
    return dict(changed=bool(send or escalate or resolved), sent=brief, resolved=resolved, messages=messages,
                escalated=[dict(host=f['host'], id=f['id'], object=f.get('object')) for f in escalate])


def main():
    channel = dict(
        type=dict(type='str', choices=['webhook', 'email'], required=True), url=dict(type='str'),
        format=dict(type='str', choices=['generic', 'slack', 'teams'], default='generic'), host=dict(type='str'),
        port=dict(type='int', default=25), starttls=dict(type='bool', default=False), username=dict(type='str'),
        password=dict(type='str', no_log=True), sender=dict(type='str'), to=dict(type='list', elements='str'))
    module = AnsibleModule(argument_spec=dict(
        report=dict(type='path', required=True), state_file=dict(type='path', required=True),
        level=dict(type='str', choices=['warning', 'critical'], default='critical'), link=dict(type='str'),
        suppress_hours=dict(type='int', default=24), escalate_after_runs=dict(type='int', default=0),
        channels=dict(type='list', elements='dict', required=True, options=channel),
        escalation_channels=dict(type='list', elements='dict', default=[], options=channel),
    ), supports_check_mode=True)
    try:
        result = run(module)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
