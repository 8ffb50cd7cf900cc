# SPDX-License-Identifier: GPL-3.0-or-later
"""role_audit against real clusters: planted problems, PostgreSQL 16 grant options, read-only."""

import os
import re
import xml.etree.ElementTree as ET

import pytest

from tests.harness.pgcluster import ROOT, ModuleFailed, PgCluster, run_module

PG16 = os.path.join(ROOT, 'build', 'pg', '16', 'bin')

INSECURE = """
CREATE ROLE dba SUPERUSER NOLOGIN;
CREATE ROLE ops NOLOGIN;
GRANT dba TO ops;
CREATE ROLE alice LOGIN PASSWORD 'alice-pw';
GRANT ops TO alice;
SET password_encryption = 'md5';
CREATE ROLE legacy LOGIN PASSWORD 'legacy-pw';
RESET password_encryption;
CREATE ROLE leftover NOLOGIN;
GRANT pg_read_server_files TO legacy;
"""

RESTORED_DB = """
GRANT CREATE ON SCHEMA public TO PUBLIC;
CREATE TABLE public.customers (id int, email text);
GRANT SELECT ON public.customers TO PUBLIC;
CREATE FUNCTION public.reset_password(int) RETURNS void LANGUAGE sql SECURITY DEFINER AS 'SELECT';
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC;
"""


def problems(result):
    return sorted((f['id'], f['severity'], f['object']) for f in result['findings']
                  if f['severity'] in ('warning', 'critical') and not f['waived'])


def test_planted_problems_each_raise_exactly_their_finding(fresh_cluster):
    c = fresh_cluster
    c.psql(INSECURE)
    c.psql('CREATE DATABASE restored')
    c.psql(RESTORED_DB, db='restored')
    result = run_module('role_audit', c.login())
    assert problems(result) == sorted([
        ('role.escalation_path', 'critical', 'alice'),
        ('role.escalation_path', 'warning', 'legacy'),
        ('role.risky_predefined_member', 'warning', 'legacy'),
        ('role.password_md5', 'warning', 'legacy'),
        ('role.public_grant', 'critical', 'restored: schema public'),
        ('role.public_grant', 'warning', 'restored: table public.customers'),
        ('role.public_grant', 'warning', 'restored: security definer function public.reset_password(integer)'),
        ('role.default_privileges', 'warning', 'restored: tables in public'),
    ])
    chain = [f for f in result['findings'] if f['id'] == 'role.escalation_path' and f['object'] == 'alice'][0]
    assert chain['observed'] == 'alice -> ops -> dba (superuser)'
    assert ('role.droppable', 'leftover') in [(f['id'], f['object']) for f in result['findings']]
    # two server statements, the cluster catalogs, one statement per database
    assert result['round_trips'] == 6 + 1
    legacy = [r for r in result['roles'] if r['name'] == 'legacy'][0]
    assert legacy['password'] == 'md5' and legacy['member_of'][0]['role'] == 'pg_read_server_files'


def test_clean_cluster_raises_nothing_at_warning_or_above(cluster):
    assert problems(run_module('role_audit', cluster.login())) == []


def test_postgresql_16_grant_options(tmp_path):
    c = PgCluster(bin_dir=PG16).start()
    try:
        c.psql("""
            CREATE ROLE dba SUPERUSER NOLOGIN;
            CREATE ROLE ops NOLOGIN;
            GRANT dba TO ops WITH SET FALSE, INHERIT TRUE;
            CREATE ROLE alice LOGIN; GRANT ops TO alice WITH SET TRUE;
            CREATE ROLE bob LOGIN; GRANT dba TO bob WITH INHERIT FALSE, SET FALSE;
            CREATE ROLE carol LOGIN; GRANT ops TO carol WITH ADMIN TRUE, SET FALSE, INHERIT FALSE;
            CREATE ROLE dave LOGIN; GRANT dba TO dave WITH SET TRUE, INHERIT FALSE;
            CREATE ROLE erin LOGIN; GRANT pg_execute_server_program TO erin WITH SET FALSE, INHERIT TRUE;
            CREATE ROLE frank LOGIN; GRANT ops TO frank WITH ADMIN TRUE, SET FALSE, INHERIT FALSE;
            GRANT pg_read_server_files TO ops WITH SET FALSE, INHERIT FALSE;
        """)
        result = run_module('role_audit', c.login())
    finally:
        c.destroy()
    assert result['round_trips'] >= 6
    paths = sorted((p['role'], p['target'], ' -> '.join(p['chain'])) for p in result['escalation_paths'])
    assert paths == [
        ('dave', 'dba', 'dave -> dba'),
        ('erin', 'pg_execute_server_program', 'erin -> pg_execute_server_program'),
    ]
    alice = [r for r in result['roles'] if r['name'] == 'alice'][0]
    assert alice['member_of'] == [{'role': 'ops', 'admin': False, 'inherit': True, 'set': True,
                                   'grantor': 'postgres'}]


def test_audit_never_writes(fresh_cluster):
    c = fresh_cluster
    c.psql(INSECURE)
    c.psql("CREATE ROLE auditor LOGIN IN ROLE pg_monitor; ALTER ROLE auditor SET default_transaction_read_only = on")
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    catalog = "SELECT md5(string_agg(rolname::text || rolcanlogin::text, ',' ORDER BY oid)) FROM pg_authid"
    before = (c.psql(xmax), c.psql(catalog))
    result = run_module('role_audit', c.login(login_user='auditor'))
    assert (c.psql(xmax), c.psql(catalog)) == before
    assert all(q.lstrip().upper().startswith(('SELECT', 'WITH')) for q in result['queries'])
    # a pg_monitor member can not read pg_authid: hashes are "not assessed", not a failure
    assert ('role.password_not_assessed', 'info') in [(f['id'], f['severity']) for f in result['findings']]
    assert ('role.escalation_path', 'critical', 'alice') in problems(result)


def test_expected_spec_connection_log_and_junit(fresh_cluster, tmp_path):
    c = fresh_cluster
    c.psql("CREATE ROLE app LOGIN; CREATE ROLE reporting LOGIN; CREATE ROLE app_owner NOLOGIN; GRANT app_owner TO app")
    log = tmp_path / 'postgresql.log'
    log.write_text('2026-11-20 10:00:00 UTC [1] LOG:  connection authorized: user=app database=shop\n')
    result = run_module('role_audit', c.login(
        connection_log=[str(tmp_path / '*.log')],
        expected=[{'name': 'app', 'attributes': {'login': True, 'superuser': False}, 'member_of': ['app_owner']},
                  {'name': 'app_owner', 'attributes': {'login': False}}],
        waivers=[{'id': 'role.unexpected', 'object': 'reporting', 'reason': 'BI team, CHG-7', 'expires': '2099-01-01'}]))
    seen = sorted(f['object'] for f in result['findings'] if f['id'] == 'role.not_seen')
    assert seen == ['postgres', 'reporting']
    drift = [(f['id'], f['object'], f['waived']) for f in result['findings'] if f.get('section') == 'drift'
             and f['severity'] != 'ok']
    assert drift == [('role.unexpected', 'reporting', True)]
    out = run_module('report', dict(dest=str(tmp_path / 'r'), name='access', results={'db1': result},
                                    formats=['junit', 'markdown']))
    suite = ET.parse(out['files']['junit']).getroot().find('testsuite')
    assert suite.get('name') == 'db1' and int(suite.get('skipped')) == 1
    failing = [f for f in result['findings'] if not f['waived'] and f['severity'] in ('warning', 'critical')]
    assert int(suite.get('failures')) == len(failing)
    assert '| drift |' in open(out['files']['markdown']).read()


@pytest.mark.parametrize('extra,words', [
    ({'waivers': [{'id': 'role.nope', 'reason': 'r', 'expires': '2099-01-01'}]}, "'role.nope' matches no check"),
    ({'waivers': [{'id': 'role.droppable', 'expires': '2099-01-01'}]}, 'missing required arguments: reason'),
    ({'expected': [{'name': 'app', 'attributes': {'superpowers': True}}]}, 'unknown attribute(s) superpowers'),
    ({'connection_log': ['/nonexistent/*.log']}, 'no file matches'),
    ({'databases': ['nope']}, "parameter 'databases'"),
])
def test_bad_input(cluster, extra, words):
    with pytest.raises(ModuleFailed) as err:
        run_module('role_audit', cluster.login(**extra))
    assert words in err.value.result['msg'] and 'Traceback' not in err.value.result['msg']


def test_expired_waiver_stops_waiving(cluster):
    cluster.psql("DO $$ BEGIN CREATE ROLE stale_group NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    result = run_module('role_audit', cluster.login(waivers=[
        {'id': 'role.droppable', 'object': 'stale_group', 'reason': 'kept for Q1', 'expires': '2020-03-31'}]))
    assert [f['waived'] for f in result['findings'] if f['id'] == 'role.droppable'] == [False]
    assert 'waiver.expired' in [f['id'] for f in result['findings']]


def test_insufficient_privileges(cluster):
    cluster.psql("DO $$ BEGIN CREATE ROLE nobody2 LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    with pytest.raises(ModuleFailed) as err:
        run_module('role_audit', cluster.login(login_user='nobody2'))
    assert 'GRANT pg_monitor TO nobody2' in err.value.result['msg']


STATEMENT = re.compile(r'(ALTER ROLE|REVOKE|ALTER DEFAULT PRIVILEGES|REASSIGN OWNED|DROP ROLE) ')


def statements(text):
    """The SQL statements of a remediation text: from a statement keyword to its ';' outside quotes."""
    out, pos = [], 0
    while True:
        m = STATEMENT.search(text, pos)
        if not m:
            return out
        quoted, i = False, m.start()
        while i < len(text) and (quoted or text[i] != ';'):
            quoted = quoted != (text[i] == '"')
            i += 1
        if i < len(text):
            out.append(text[m.start():i + 1])
        pos = i + 1


def test_every_remediation_statement_runs_whatever_the_names_hold(fresh_cluster):
    """Names with quotes, semicolons and comments: each remediation statement is run for real in a
    transaction that is rolled back, so it must parse and name existing objects."""
    c = fresh_cluster
    c.psql('''
        CREATE ROLE app_owner NOLOGIN;
        CREATE ROLE "x""; drop table t; --" LOGIN SUPERUSER;
        CREATE ROLE "Mixed Case" LOGIN CREATEROLE;
        CREATE ROLE "unused; --" NOLOGIN;
        GRANT pg_read_server_files TO "Mixed Case";
        CREATE SCHEMA "odd schema";
        GRANT CREATE ON SCHEMA "odd schema" TO PUBLIC;
        CREATE TABLE "odd schema"."t; --" (i int);
        GRANT SELECT ON "odd schema"."t; --" TO PUBLIC;
        CREATE SEQUENCE "odd schema".s;
        GRANT USAGE ON SEQUENCE "odd schema".s TO PUBLIC;
        GRANT CREATE ON SCHEMA public TO PUBLIC;
        ALTER DEFAULT PRIVILEGES FOR ROLE "Mixed Case" IN SCHEMA "odd schema" GRANT SELECT ON TABLES TO PUBLIC;
        SET ROLE "Mixed Case"; CREATE TABLE "mixed table" (i int); RESET ROLE;
    ''')
    result = run_module('role_audit', c.login())
    found = [(f['id'], s) for f in result['findings'] for s in statements(f['remediation'])]
    ids = set(i for i, dummy in found)
    assert {'role.superuser_login', 'role.createrole', 'role.risky_predefined_member', 'role.public_grant',
            'role.default_privileges', 'role.droppable', 'role.owned_by_login'} <= ids, ids
    assert 'ALTER ROLE "x""; drop table t; --" NOSUPERUSER;' in [s for dummy, s in found]
    conn = c.connect(autocommit=False)
    try:
        for check, statement in found:
            cur = conn.cursor()
            try:
                cur.execute(statement)
            except Exception as exc:  # pylint: disable=broad-except
                raise AssertionError('%s: %s fails: %s' % (check, statement, exc))
            finally:
                conn.rollback()
    finally:
        conn.close()
    assert c.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'x\"; drop table t; --'") == '1'
