# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Notifications: which findings of a report to tell people about, with suppression, escalation and
resolution (``decide``, pure), one grouped message per run (``message``, pure), and the senders
(webhook over HTTP(S), e-mail over SMTP).

State (kept on the controller beside the reports): per open finding (host, id, object) its severity,
when it was last sent, how many runs in a row it has been open, whether it was escalated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import smtplib
from email.message import EmailMessage

from ansible.module_utils.urls import open_url

RANK = {'ok': 0, 'info': 1, 'warning': 2, 'critical': 3}


def key(host, f):
    return '%s|%s|%s' % (host, f['id'], f.get('object'))


def open_findings(report, level):
    """{key: finding with its host} for the unwaived findings at or above ``level``."""
    out = {}
    for h in report.get('hosts') or []:
        for f in h.get('findings') or []:
            if not f.get('waived') and RANK.get(f.get('severity'), 0) >= RANK[level]:
                out[key(h['host'], f)] = dict(f, host=h['host'])
    return out


def decide(current, state, now, suppress_s, escalate_after):
    """(to_send, to_escalate, resolved, new_state). A finding is sent when it is new, got worse, or
    its suppression window passed; escalated once when open ``escalate_after`` runs in a row (0: never);
    resolved when it was open last time and is not now."""
    known = (state or {}).get('open') or {}
    send, escalate, new = [], [], {}
    for k, f in sorted(current.items()):
        before = known.get(k)
        runs = (before or {}).get('runs', 0) + 1
        entry = {'severity': f['severity'], 'runs': runs, 'sent_at': (before or {}).get('sent_at'),
                 'escalated': (before or {}).get('escalated', False)}
        worse = before is not None and RANK[f['severity']] > RANK.get(before.get('severity'), 0)
        due = before is None or worse or before.get('sent_at') is None or now - before['sent_at'] >= suppress_s
        if due:
            send.append(f)
            entry['sent_at'] = now
        if escalate_after and runs >= escalate_after and not entry['escalated'] and f['severity'] == 'critical':
            escalate.append(f)
            entry['escalated'] = True
        new[k] = entry
    resolved = [dict(host=k.split('|')[0], id=k.split('|')[1], object=k.split('|', 2)[2]) for k in sorted(known)
                if k not in current]
    return send, escalate, resolved, {'open': new}


def message(title, findings, resolved, link, top=5):
    """One grouped text: per host and severity, the count and the first findings; then what cleared."""
    lines = [title]
    by = {}
    for f in findings:
        by.setdefault((f['host'], f['severity']), []).append(f)
    for (host, severity), items in sorted(by.items(), key=lambda kv: (kv[0][0], -RANK[kv[0][1]])):
        lines.append('%s: %d %s' % (host, len(items), severity))
        for f in items[:top]:
            lines.append('  - %s %s: %s' % (f['id'], f.get('object'), f.get('title')))
        if len(items) > top:
            lines.append('  - and %d more' % (len(items) - top))
    if resolved:
        lines.append('Resolved: %s' % ', '.join('%s %s on %s' % (r['id'], r['object'], r['host']) for r in resolved))
    if link:
        lines.append('Report: %s' % link)
    return '\n'.join(lines)


def payload(fmt, title, text, findings, resolved, link):
    if fmt == 'slack':
        return {'text': text}
    if fmt == 'teams':
        return {'@type': 'MessageCard', '@context': 'https://schema.org/extensions', 'summary': title,
                'title': title, 'text': text.replace('\n', '\n\n')}
    return {'title': title, 'text': text, 'report': link, 'resolved': resolved,
            'findings': [dict((k, f.get(k)) for k in ('host', 'id', 'severity', 'object', 'title', 'observed'))
                         for f in findings]}


def send_webhook(url, body, timeout=10):
    response = open_url(url, data=json.dumps(body), method='POST', timeout=timeout,
                        headers={'Content-Type': 'application/json'})
    return response.getcode()


def send_mail(channel, subject, text, timeout=10):
    msg = EmailMessage()
    msg['Subject'] = subject
    msg['From'] = channel['sender']
    msg['To'] = ', '.join(channel['to'])
    msg.set_content(text)
    smtp = smtplib.SMTP(channel['host'], int(channel.get('port') or 25), timeout=timeout)
    try:
        if channel.get('starttls'):
            smtp.starttls()
        if channel.get('username'):
            smtp.login(channel['username'], channel.get('password') or '')
        smtp.send_message(msg)
    finally:
        smtp.quit()
