# SPDX-License-Identifier: GPL-3.0-or-later
"""notify against a local HTTP sink and a local SMTP sink: one grouped message per run, suppression,
a finding that got worse, escalation, resolution, a channel that fails (nothing recorded as sent)."""

import json

import pytest

from tests.harness.pgcluster import ModuleFailed, run_module
from tests.harness.sinks import HttpSink, SmtpSink


@pytest.fixture()
def sinks():
    http, smtp = HttpSink(), SmtpSink()
    yield http, smtp
    http.close()
    smtp.close()


def report(path, findings):
    hosts = {}
    for host, fid, severity, obj in findings:
        hosts.setdefault(host, []).append({'id': fid, 'severity': severity, 'object': obj, 'title': fid + ' title',
                                           'observed': 'o', 'waived': False})
    path.write_text(json.dumps({'title': 'PostgreSQL fleet health', 'summary': {'worst': 'critical'},
                                'hosts': [{'host': h, 'findings': f} for h, f in hosts.items()]}))
    return str(path)


def notify(tmp_path, sinks, findings, **extra):
    http, smtp = sinks
    args = dict(report=report(tmp_path / 'fleet-summary.json', findings), state_file=str(tmp_path / 'state.json'),
                channels=[{'type': 'webhook', 'url': http.url, 'format': 'slack'},
                          {'type': 'email', 'host': '127.0.0.1', 'port': smtp.port, 'sender': 'pgops@example.com',
                           'to': ['dba@example.com']}])
    args.update(extra)
    return run_module('notify', args)


FINDINGS = [('db1', 'health.server_up', 'critical', 'server'), ('db1', 'health.sequences', 'critical', 's1'),
            ('db2', 'health.disk_space', 'warning', '/var/lib/postgresql'), ('db2', 'backup.age', 'critical', 'main')]


def test_grouped_once_then_suppressed_then_worse_then_resolved(tmp_path, sinks):
    http, smtp = sinks
    first = notify(tmp_path, sinks, FINDINGS)
    assert len(http.bodies) == 1 and len(smtp.messages) == 1 and first['changed'] is True
    text = http.bodies[0]['text']
    assert 'db1: 2 critical' in text and 'db2: 1 critical' in text and 'disk_space' not in text
    assert 'fleet-summary.html' in text and 'Subject: PostgreSQL fleet health: CRITICAL' in smtp.messages[0]
    # the same run again: nothing is sent
    again = notify(tmp_path, sinks, FINDINGS)
    assert len(http.bodies) == 1 and len(smtp.messages) == 1 and again['sent'] == [] and again['changed'] is False
    # a warning that became critical is sent, alone
    worse = notify(tmp_path, sinks, FINDINGS[:2] + [('db2', 'health.disk_space', 'critical', '/var/lib/postgresql'),
                                                    FINDINGS[3]])
    assert [(f['host'], f['id']) for f in worse['sent']] == [('db2', 'health.disk_space')] and len(http.bodies) == 2
    # one clears: a resolved message
    cleared = notify(tmp_path, sinks, FINDINGS[:2] + [('db2', 'health.disk_space', 'critical', '/var/lib/postgresql')])
    assert cleared['resolved'] == [{'host': 'db2', 'id': 'backup.age', 'object': 'main'}]
    assert 'Resolved: backup.age main on db2' in http.bodies[-1]['text']
    # after the suppression window a still-open finding is sent again
    late = notify(tmp_path, sinks, FINDINGS[:2] + [('db2', 'health.disk_space', 'critical', '/var/lib/postgresql')],
                  suppress_hours=0)
    assert len(late['sent']) == 3


def test_hundred_findings_over_ten_runs_send_a_handful(tmp_path, sinks):
    http, smtp = sinks
    many = [('db%d' % (i % 10), 'health.check_%d' % i, 'critical', 'x') for i in range(100)]
    for run in range(10):
        notify(tmp_path, sinks, many)
    assert len(http.bodies) == 1 and len(smtp.messages) == 1
    assert 'and 5 more' in http.bodies[0]['text']


def test_escalation_after_n_runs(tmp_path, sinks):
    http, smtp = sinks
    esc = HttpSink()
    try:
        for run in range(3):
            result = notify(tmp_path, sinks, FINDINGS[:1], escalate_after_runs=3,
                            escalation_channels=[{'type': 'webhook', 'url': esc.url}])
        assert [f['id'] for f in result['escalated']] == ['health.server_up'] and len(esc.bodies) == 1
        assert esc.bodies[0]['title'].startswith('ESCALATION') and esc.bodies[0]['findings'][0]['host'] == 'db1'
        notify(tmp_path, sinks, FINDINGS[:1], escalate_after_runs=3, escalation_channels=[{'type': 'webhook',
                                                                                           'url': esc.url}])
        assert len(esc.bodies) == 1  # once
    finally:
        esc.close()


def test_a_failing_channel_records_nothing_as_sent(tmp_path, sinks):
    http, smtp = sinks
    down = HttpSink(status=500)
    try:
        with pytest.raises(ModuleFailed) as err:
            notify(tmp_path, sinks, FINDINGS, channels=[{'type': 'webhook', 'url': down.url}])
        assert 'webhook 0' in err.value.result['msg'] and 'next run tries again' in err.value.result['msg']
        assert not (tmp_path / 'state.json').exists()
        assert len(notify(tmp_path, sinks, FINDINGS)['sent']) == 3
    finally:
        down.close()


def test_check_mode_sends_nothing(tmp_path, sinks):
    http, smtp = sinks
    args = dict(report=report(tmp_path / 'r.json', FINDINGS), state_file=str(tmp_path / 'state.json'),
                channels=[{'type': 'webhook', 'url': http.url}])
    result = run_module('notify', args, check_mode=True)
    assert len(result['sent']) == 3 and http.bodies == [] and not (tmp_path / 'state.json').exists()


@pytest.mark.parametrize('channel,words', [
    ({'type': 'webhook', 'url': 'ftp://x'}, ['channels[0].url']),
    ({'type': 'webhook', 'url': 'http://x/\nHost: evil'}, ['channels[0].url']),
    ({'type': 'email', 'host': 'smtp', 'sender': 'a@b'}, ['channels[0].to']),
    ({'type': 'email', 'host': 'smtp', 'sender': 'a@b\nBcc: x@y', 'to': ['c@d']}, ['channels[0].sender']),
])
def test_bad_channels_are_named(tmp_path, channel, words):
    with pytest.raises(ModuleFailed) as err:
        run_module('notify', dict(report=report(tmp_path / 'r.json', FINDINGS), state_file=str(tmp_path / 's.json'),
                                  channels=[channel]))
    for word in words:
        assert word in err.value.result['msg'], err.value.result['msg']
