# SPDX-License-Identifier: GPL-3.0-or-later
import datetime

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, failing, finding, parse_waivers, sort_findings, summarize)

TODAY = datetime.date(2026, 11, 24)


def sample():
    return [
        finding('health.table_analyze', 'warning', 'stale', obj='app.public.t1'),
        finding('health.table_analyze', 'warning', 'stale', obj='app.audit.t2'),
        finding('health.checksum_failures', 'critical', 'bad', obj='app'),
        finding('health.uptime', 'ok', 'fine'),
    ]


def test_finding_has_the_stable_keys():
    f = finding('x.y', 'info', 'Title', obj='o', observed=1, expected=2, remediation='do')
    assert set(f) == {'id', 'severity', 'title', 'object', 'observed', 'expected', 'remediation', 'waived'}
    with pytest.raises(ValueError):
        finding('x', 'fatal', 'bad severity')


def test_waiver_by_pattern_waives_only_matching_objects():
    waivers = parse_waivers([{'id': 'health.table_*', 'object': 'app.audit.*', 'reason': 'CHG-1',
                              'expires': '2026-12-31'}])
    out = apply_waivers(sample(), waivers, TODAY)
    waived = [(f['id'], f['object']) for f in out if f['waived']]
    assert waived == [('health.table_analyze', 'app.audit.t2')]
    assert summarize(out) == {'ok': 1, 'info': 0, 'warning': 1, 'critical': 1, 'waived': 1, 'worst': 'critical'}


def test_expired_waiver_stops_waiving_and_says_so():
    waivers = parse_waivers([{'id': 'health.checksum_failures', 'reason': 'known disk', 'expires': '2026-11-23'}])
    out = apply_waivers(sample(), waivers, TODAY)
    assert not any(f['waived'] for f in out)
    expired = [f for f in out if f['id'] == 'waiver.expired']
    assert len(expired) == 1 and expired[0]['severity'] == 'info'
    assert 'known disk' in expired[0]['remediation']


def test_waiver_expiring_today_still_applies():
    waivers = parse_waivers([{'id': 'health.checksum_failures', 'reason': 'r', 'expires': '2026-11-24'}])
    assert [f['waived'] for f in apply_waivers(sample(), waivers, TODAY) if f['severity'] == 'critical'] == [True]


def test_ok_findings_are_never_waived():
    waivers = parse_waivers([{'id': '*', 'reason': 'everything', 'expires': '2099-01-01'}])
    out = apply_waivers(sample(), waivers, TODAY)
    assert [f['waived'] for f in out if f['severity'] == 'ok'] == [False]


@pytest.mark.parametrize('raw,words', [
    ([{'id': 'x', 'expires': '2027-01-01'}], "'reason' is missing"),
    ([{'id': 'x', 'reason': 'r'}], "'expires' is missing"),
    ([{'id': 'x', 'reason': 'r', 'expires': 'next year'}], 'not a date'),
    ([{'id': 'x', 'reason': 'r', 'expires': '2027-01-01', 'until': 1}], 'unknown keys until'),
    (['health.x'], 'must be a dict'),
])
def test_bad_waivers_are_refused_with_the_fix(raw, words):
    with pytest.raises(ParameterError) as err:
        parse_waivers(raw)
    assert words in err.value.msg and err.value.param == 'waivers[0]' and 'Fix:' in err.value.msg


def test_failing_and_sorting():
    out = sort_findings(sample())
    assert [f['severity'] for f in out] == ['critical', 'warning', 'warning', 'ok']
    assert [f['id'] for f in failing(out, 'critical')] == ['health.checksum_failures']
    assert len(failing(out, 'warning')) == 3


def test_a_down_server_can_not_be_waived():
    down = [finding('health.server_up', 'critical', 'The server cannot be reached', observed='refused')]
    star = parse_waivers([{'id': '*', 'reason': 'noise', 'expires': '2999-01-01'}],
                         known_ids=['health.server_up', 'health.uptime'])
    out = apply_waivers(down, star, TODAY)
    assert out[0]['waived'] is False and summarize(out)['worst'] == 'critical'
    with pytest.raises(ParameterError) as err:
        parse_waivers([{'id': 'health.server_up', 'reason': 'x', 'expires': '2999-01-01'}])
    assert "waivers[0].id" in str(err.value) and 'can not be waived' in str(err.value)


def test_waiver_ids_must_name_a_check():
    with pytest.raises(ParameterError) as err:
        parse_waivers([{'id': 'health.no_such', 'reason': 'x', 'expires': '2999-01-01'}], known_ids=['health.uptime'])
    assert 'matches no check' in str(err.value)
