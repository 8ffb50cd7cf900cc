# SPDX-License-Identifier: GPL-3.0-or-later
"""alert_rules with the real promtool (Debian prometheus): the file passes `promtool check rules`, and
`promtool test rules` proves every rule - for each alert, input series below the warning level (no
alert), between the levels (the warning alert only, with its labels and rendered annotations) and
at the critical level (the critical alert only); a fixed alert fires on its firing value only. The
same suite runs on rules written with other thresholds: a limit changed in the inventory moves the
alert. Check mode, idempotence, a file promtool refuses is never written, bad thresholds are named
as the daily check names them."""

import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml

from tests.harness.pgbouncer import PgBouncer
from tests.harness.pgcluster import ModuleFailed, PgCluster, free_port, run_module

from ansible_collections.pgops.postgresql.plugins.module_utils import _alerts

# bindep.txt installs prometheus (promtool) and prometheus-postgres-exporter for `make test`: a missing
# tool fails the tests, never skips them
PROMTOOL = shutil.which('promtool') or '/usr/bin/promtool'


def humanize_duration(v):
    if v == 0:
        return '0s'
    if v < 1:
        return '%.4gms' % (v * 1000)
    seconds, minutes, hours, days = int(v) % 60, int(v) // 60 % 60, int(v) // 3600 % 24, int(v) // 86400
    if days:
        return '%dd %dh %dm %ds' % (days, hours, minutes, seconds)
    if hours:
        return '%dh %dm %ds' % (hours, minutes, seconds)
    if minutes:
        return '%dm %ds' % (minutes, seconds)
    return '%.4gs' % v


def humanize1024(v):
    if abs(v) <= 1:
        return '%.4g' % v
    prefix = ''
    for p in ('ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'):
        if abs(v) < 1024:
            break
        v /= 1024.0
        prefix = p
    return '%.4g%s' % (v, prefix)


def go_value(v):
    return str(int(v)) if v == int(v) and abs(v) < 1e21 else repr(v)


def render(template, labels, value):
    """The annotation templates the rules use, expanded as Prometheus does."""
    def one(m):
        expr = m.group(1).strip()
        if expr.startswith('$labels.'):
            return labels[expr[len('$labels.'):]]
        fn = expr.split('|', 1)[1].strip() if '|' in expr else ''
        if not fn:
            return go_value(value)
        if fn.startswith('printf'):
            return re.search(r'"([^"]+)"', fn).group(1) % value
        return {'humanizeDuration': humanize_duration, 'humanize1024': humanize1024}[fn](value)
    return re.sub(r'\{\{(.*?)\}\}', one, template)


def cases(alert, t):
    """(value, severity or None) for one alert with the thresholds ``t``."""
    if alert.condition:
        return [(alert.fires[0], alert.severity), (alert.fires[1], None)]
    warn = t[alert.warning]
    if alert.warning == 'database_size_warning_bytes' and not warn:
        return []
    if alert.lower_is_worse:
        return [(warn + (100 - warn) / 2.0, None), (warn / 2.0, 'warning')]
    if not alert.critical:
        return [(warn / 2.0, None), (warn * 2.0 or 1, 'warning')]
    crit = t[alert.critical]
    return [(warn / 2.0, None), ((warn + crit) / 2.0, 'warning'), (crit * 1.5, 'critical')]


def suite(rules_path, thresholds, pool_thresholds, extra_labels=None):
    t = _alerts.validate(thresholds, pool_thresholds)
    by = {}
    for rule in yaml.safe_load(open(rules_path))['groups'][0]['rules']:
        by[(rule['alert'], rule['labels']['severity'])] = rule
    tests, covered = [], set()
    for alert in _alerts.ALERTS:
        for value, sev in cases(alert, t[alert.area]):
            series, labels = alert.sample(value)
            eval_minutes = 1560 if 'increase(pg_stat_database_deadlocks' in (alert.value or '') else 85
            if 'rate(' in (alert.value or '') or 'increase(' in (alert.condition or ''):
                eval_minutes = 140
            expected = []
            if sev:
                rule = by[(alert.name, sev)]
                covered.add((alert.name, sev))
                shown = value
                expected.append({'exp_labels': dict(labels, **rule['labels']),
                                 'exp_annotations': dict((k, render(v, labels, shown))
                                                         for k, v in rule['annotations'].items())})
            tests.append({'interval': '1m', 'input_series': [{'series': s, 'values': v} for s, v in series],
                          'alert_rule_test': [{'eval_time': '%dm' % eval_minutes, 'alertname': alert.name,
                                               'exp_alerts': expected}]})
    assert covered == set(by), 'rules without a test: %s' % sorted(set(by) - covered)
    return {'rule_files': [os.path.basename(rules_path)], 'evaluation_interval': '1m', 'tests': tests}


def promtool_test(tmp_path, rules_path, thresholds, pool_thresholds):
    assert os.path.exists(PROMTOOL), 'promtool is missing: apt-get install prometheus (bindep.txt)'
    test_file = tmp_path / ('test-%s.yml' % os.path.basename(rules_path))
    test_file.write_text(yaml.safe_dump(suite(str(rules_path), thresholds, pool_thresholds), sort_keys=False))
    proc = subprocess.run([PROMTOOL, 'test', 'rules', str(test_file)], cwd=str(tmp_path), capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return proc


def test_every_rule_fires_at_its_level_and_not_below(tmp_path):
    dest = tmp_path / 'pgops.yml'
    args = dict(dest=str(dest))
    plan = run_module('alert_rules', args, check_mode=True, diff=True)
    assert plan['changed'] and not dest.exists() and plan['alerts'] == len(plan['rules'])
    done = run_module('alert_rules', args)
    assert done['changed'] and 'SUCCESS' in done['promtool'] and done['rules'] == plan['rules']
    assert not run_module('alert_rules', args)['changed']
    assert not run_module('alert_rules', args, check_mode=True)['changed']
    check = subprocess.run([PROMTOOL, 'check', 'rules', str(dest)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    promtool_test(tmp_path, dest, {}, {})
    rules = yaml.safe_load(dest.read_text())['groups'][0]['rules']
    assert all(r['annotations']['runbook_url'].startswith('docs/runbooks/') and '#' in r['annotations']['runbook_url']
               for r in rules)
    assert {r['labels']['severity'] for r in rules} == {'warning', 'critical'}


def test_a_threshold_from_the_inventory_moves_the_alert(tmp_path):
    dest = tmp_path / 'custom.yml'
    thresholds = {'connections_warning_pct': 50, 'connections_critical_pct': 70, 'idle_in_transaction_warning_seconds': 60,
                  'replication_lag_critical_bytes': 2 ** 31, 'database_size_warning_bytes': 10 ** 9,
                  'cache_hit_warning_pct': 99}
    pool = {'waiting_clients_warning': 5, 'pool_usage_warning_pct': 75}
    done = run_module('alert_rules', dict(dest=str(dest), thresholds=thresholds, pool_thresholds=pool,
                                          labels={'team': 'dba'}, runbook_base_url='https://dba.example.com/rb/'))
    by = dict(((r['alert'], r['labels']['severity']), r) for r in done['rules'])
    assert '>= 50 and' in by[('PostgreSQLConnections', 'warning')]['expr']
    assert by[('PostgreSQLConnections', 'critical')]['expr'].endswith('>= 70')
    assert ('PostgreSQLDatabaseSize', 'warning') in by  # 0 (off) by default: no rule
    assert all(r['labels']['team'] == 'dba' for r in done['rules'])
    assert by[('PgBouncerPoolSaturation', 'warning')]['annotations']['runbook_url'] == \
        'https://dba.example.com/rb/connection-pooling.md#the-checks'
    promtool_test(tmp_path, dest, thresholds, pool)


def test_promtool_refusing_writes_nothing(tmp_path):
    fake = tmp_path / 'promtool'
    fake.write_text('#!/bin/sh\necho "FAILED: bad rule" >&2\nexit 1\n')
    fake.chmod(0o755)
    dest = tmp_path / 'rules.yml'
    dest.write_text('groups: []\n')
    with pytest.raises(ModuleFailed) as err:
        run_module('alert_rules', dict(dest=str(dest), promtool=str(fake)))
    assert 'promtool refuses the rules (nothing was written): FAILED: bad rule' in err.value.result['msg']
    assert dest.read_text() == 'groups: []\n'


@pytest.mark.parametrize('args, param', [
    ({'thresholds': {'connections_warning_pct': 99, 'connections_critical_pct': 90}}, 'thresholds.connections_warning_pct'),
    ({'thresholds': {'no_such': 1}}, "parameter 'thresholds'"),
    ({'pool_thresholds': {'maxwait_warning_s': 'soon'}}, 'pool_thresholds.maxwait_warning_s'),
    ({'labels': {'severity': 'page'}}, "parameter 'labels'"),
    ({'labels': {'team': 'dba\n- alert: Injected'}}, 'labels.team'),
    ({'pool_auth_user': 'x"} or vector(1) #'}, "parameter 'pool_auth_user'"),
    ({'skip_alerts': ['health.nothing']}, "parameter 'skip_alerts'"),
    ({'rule_group': 'a\nb'}, "parameter 'rule_group'"),
    ({'dest': 'relative.yml'}, "parameter 'dest'"),
])
def test_bad_input_is_named(tmp_path, args, param):
    base = dict(dest=str(tmp_path / 'rules.yml'))
    base.update(args)
    with pytest.raises(ModuleFailed) as err:
        run_module('alert_rules', base)
    msg = err.value.result['msg']
    assert param in msg and 'Fix:' in msg and 'Traceback' not in msg, msg
    assert not (tmp_path / 'rules.yml').exists()


def scrape(argv, env, port):
    proc = subprocess.Popen(argv, env=dict(os.environ, **env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while True:
            try:
                body = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5).read().decode()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        return set(line.split('{')[0].split(' ')[0] for line in body.splitlines() if line and line[0] != '#'), body
    finally:
        proc.terminate()
        proc.wait(10)


def test_every_metric_a_rule_reads_is_exported():
    """The real exporters against a real cluster and pgbouncer: each metric a rule reads is served (or,
    for replication, slots and standbys this single server lacks, defined by the role's queries)."""
    assert os.path.exists('/usr/bin/prometheus-postgres-exporter'), 'apt-get install prometheus-postgres-exporter'
    root = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'monitoring', 'files')
    queries = yaml.safe_load(open(os.path.join(root, 'pgops-queries.yaml')))
    defined = set('%s_%s' % (q, list(m)[0]) for q, spec in queries.items() for m in spec['metrics']
                  if list(m.values())[0]['usage'] != 'LABEL')
    c = PgCluster().start()
    b = PgBouncer(c, pool_size=3, pool_mode='transaction')
    try:
        c.psql("CREATE ROLE mon LOGIN PASSWORD 'mon-secret-123' IN ROLE pg_monitor")
        b.connect().cursor().execute('SELECT 1')
        port = free_port()
        pg_names, pg_body = scrape(
            ['/usr/bin/prometheus-postgres-exporter', '--web.listen-address=127.0.0.1:%d' % port,
             '--extend.query-path=' + os.path.join(root, 'pgops-queries.yaml')],
            {'DATA_SOURCE_URI': '127.0.0.1:%d/postgres?sslmode=disable' % c.port, 'DATA_SOURCE_USER': 'mon',
             'DATA_SOURCE_PASS': 'mon-secret-123'}, port)
        port = free_port()
        pool_names, dummy = scrape(['/usr/bin/python3', os.path.join(root, 'pgops_pgbouncer_exporter.py'), '--port',
                                    str(port)], {'PGHOST': '127.0.0.1', 'PGPORT': str(b.port), 'PGUSER': 'monitor'}, port)
    finally:
        b.destroy()
        c.destroy()
    assert 'pg_up 1' in pg_body and 'pg_exporter_user_queries_load_error' in pg_names
    assert re.search(r'(?m)^pg_exporter_user_queries_load_error\{[^}]*\} 0$', pg_body), pg_body[-3000:]
    served = pg_names | pool_names
    for alert in _alerts.ALERTS:
        text = (alert.value or '') + (alert.condition or '') + (alert.guard or '')
        used = set(re.findall(r'\b(pg_[a-z_]+|pgops_[a-z_]+|pgbouncer_[a-z_]+)\b', text))
        missing = used - served - (defined - {'pgops_activity_client_connections'})
        assert not missing, (alert.name, missing)
    # what a single primary serves of the role's queries
    assert {'pgops_activity_client_connections', 'pgops_database_xid_age', 'pgops_server_archive_ready'} <= served
