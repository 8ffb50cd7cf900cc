# SPDX-License-Identifier: GPL-3.0-or-later
"""The alert rules from the registries, without Prometheus: levels, directions, the off switch, the
threshold validation the daily check uses, and hostile values kept out of the expressions."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils import _alerts
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError


def by_name(doc):
    return dict(((r['alert'], r['labels']['severity']), r) for r in doc['groups'][0]['rules'])


def test_two_levels_make_two_rules_that_never_fire_together():
    rules = by_name(_alerts.rules({'connections_warning_pct': 70, 'connections_critical_pct': 90}, {}))
    value = '(100 * pgops_activity_client_connections / clamp_min(pgops_activity_usable_connections, 1))'
    assert rules[('PostgreSQLConnections', 'warning')]['expr'] == '%s >= 70 and %s < 90' % (value, value)
    assert rules[('PostgreSQLConnections', 'critical')]['expr'] == '%s >= 90' % value
    assert rules[('PostgreSQLConnections', 'critical')]['labels'] == {
        'severity': 'critical', 'check': 'health.connections', 'service': 'postgresql'}


def test_lower_is_worse_and_the_volume_guard():
    rule = by_name(_alerts.rules({'cache_hit_warning_pct': 95, 'cache_min_blocks': 5000}, {}))[
        ('PostgreSQLCacheHitRatio', 'warning')]
    assert ') <= 95 and (' in rule['expr'] and rule['expr'].endswith('>= 5000)')


def test_a_size_limit_of_zero_is_off():
    assert ('PostgreSQLDatabaseSize', 'warning') not in by_name(_alerts.rules({}, {}))
    rule = by_name(_alerts.rules({'database_size_warning_bytes': 2 ** 40}, {}))[('PostgreSQLDatabaseSize', 'warning')]
    assert rule['expr'] == '(pg_database_size_bytes) >= 1099511627776'


def test_the_lookup_role_is_left_out_of_saturation_and_runbooks_are_linked():
    rules = by_name(_alerts.rules({}, {}, pool_auth_user='lookup', runbook_base='https://x/'))
    assert 'pgbouncer_server_connections{user!="lookup"}' in rules[('PgBouncerPoolSaturation', 'warning')]['expr']
    assert rules[('PgBouncerDown', 'critical')]['annotations']['runbook_url'] == \
        'https://x/connection-pooling.md#when-pgbouncer-is-down'


@pytest.mark.parametrize('thresholds, pool, param', [
    ({'connections_warning_pct': 99, 'connections_critical_pct': 90}, {}, 'thresholds.connections_warning_pct'),
    ({'connections_warning_pct': '80 or vector(1)'}, {}, 'thresholds.connections_warning_pct'),
    ({}, {'maxwait_warning_s': -1}, 'pool_thresholds.maxwait_warning_s'),
    ({}, {'no_such': 1}, 'pool_thresholds'),
])
def test_thresholds_are_checked_as_the_daily_check_checks_them(thresholds, pool, param):
    with pytest.raises(ParameterError) as err:
        _alerts.rules(thresholds, pool)
    assert "'%s'" % param in err.value.msg


def test_skipping_by_check_or_by_name():
    names = {r['alert'] for r in _alerts.rules({}, {}, skip=['health.replication_lag', 'PgBouncerDown'])['groups'][0]['rules']}
    assert not names & {'PostgreSQLReplicationLagBytes', 'PostgreSQLStandbyNotStreaming', 'PgBouncerDown'}
    with pytest.raises(ParameterError):
        _alerts.rules({}, {}, skip=['health.nothing'])
