# SPDX-License-Identifier: GPL-3.0-or-later
"""security_audit against a deliberately insecure cluster: every planted problem raises its finding."""

import os

import pytest

from tests.harness import certs
from tests.harness.pgcluster import ModuleFailed, run_module


def problems(result):
    return sorted(set((f['id'], f['severity']) for f in result['findings']
                      if f['severity'] in ('warning', 'critical') and not f['waived']))


def plant(c, tmp_path):
    ca = certs.ca()
    cert_path, key_path = certs.write(str(tmp_path), 'loose', *certs.server(*ca), key_mode=0o644)
    c.psql("SET password_encryption = 'md5'; CREATE ROLE legacy LOGIN PASSWORD 'legacy-pw';")
    c.psql("ALTER SYSTEM SET ssl_key_file = '%s'; ALTER SYSTEM SET ssl_cert_file = '%s'; SELECT pg_reload_conf();"
           % (key_path, cert_path))
    c.psql('CREATE DATABASE restored')
    c.psql("""
        GRANT CREATE ON SCHEMA public TO PUBLIC;
        CREATE FUNCTION public.reset_password(int) RETURNS void LANGUAGE sql SECURITY DEFINER AS 'SELECT';
    """, db='restored')


def test_planted_problems_each_raise_their_finding(fresh_cluster, tmp_path):
    c = fresh_cluster
    plant(c, tmp_path)
    result = run_module('security_audit', c.login())
    assert problems(result) == sorted([
        ('sec.auth.hba_trust', 'warning'),            # initdb --auth-local=trust
        ('sec.auth.md5_hashes', 'warning'),           # legacy
        ('sec.access.definer_search_path', 'warning'),
        ('sec.access.public_create_public', 'critical'),
        ('sec.files.ssl_key', 'critical'),            # mode 0644
        ('sec.ssl.enabled', 'critical'),              # ssl off
        ('sec.log.connections', 'warning'),
        ('sec.log.disconnections', 'warning'),
        ('sec.log.line_prefix', 'warning'),
        ('sec.log.statement', 'warning'),
        ('sec.audit.pgaudit_loaded', 'warning'),
        ('sec.audit.pgaudit_extension', 'warning'),
        ('sec.repl.archive_mode', 'warning'),
        ('sec.settings.fsync', 'critical'),           # the harness runs with fsync=off
    ])
    by_id = dict(((f['id'], f['object']), f) for f in result['findings'])
    assert ('sec.access.public_create_public', 'restored') in by_id
    assert ('sec.access.definer_search_path', 'restored: public.reset_password(integer)') in by_id
    assert ('sec.auth.md5_hashes', 'legacy') in by_id
    assert len(set(f['id'] for f in result['findings'])) == 45
    assert result['not_assessed'] == []
    assert result['round_trips'] == 7 + 2


def test_monitor_member_gets_not_assessed_instead_of_failures(fresh_cluster, tmp_path):
    c = fresh_cluster
    plant(c, tmp_path)
    c.psql("CREATE ROLE auditor LOGIN IN ROLE pg_monitor; ALTER ROLE auditor SET default_transaction_read_only = on")
    xmax = 'SELECT txid_snapshot_xmax(txid_current_snapshot())'
    before = c.psql(xmax)
    result = run_module('security_audit', c.login(login_user='auditor'))
    assert c.psql(xmax) == before
    assert all(q.lstrip().upper().startswith(('SELECT', 'WITH')) for q in result['queries'])
    # pg_authid needs a superuser; pg_hba.conf is read from the file on this host instead of the view
    assert result['not_assessed'] == ['sec.auth.md5_hashes']
    assert ('sec.auth.hba_trust', 'warning') in problems(result)


def test_waivers_and_bad_input(fresh_cluster, tmp_path):
    c = fresh_cluster
    result = run_module('security_audit', c.login(waivers=[
        {'id': 'sec.settings.fsync', 'reason': 'test harness runs without fsync', 'expires': '2099-01-01'}]))
    assert [f['waived'] for f in result['findings'] if f['id'] == 'sec.settings.fsync'] == [True]
    with pytest.raises(ModuleFailed) as err:
        run_module('security_audit', c.login(waivers=[{'id': 'sec.nope', 'reason': 'r', 'expires': '2099-01-01'}]))
    assert "'sec.nope' matches no check" in err.value.result['msg']


def test_hardened_settings_pass(fresh_cluster, tmp_path):
    """The settings the install/security roles apply make the logging, TLS and auth checks pass."""
    c = fresh_cluster
    ca = certs.ca()
    cert_path, key_path = certs.write(str(tmp_path), 'server', *certs.server(*ca))
    os.chown(key_path, 0, 0)
    os.chmod(key_path, 0o640)
    os.chown(tmp_path, 0, 0)
    c.psql("""
        ALTER SYSTEM SET ssl = on;
        ALTER SYSTEM SET ssl_cert_file = '%s';
        ALTER SYSTEM SET ssl_key_file = '%s';
        ALTER SYSTEM SET log_connections = on;
        ALTER SYSTEM SET log_disconnections = on;
        ALTER SYSTEM SET log_line_prefix = '%%m [%%p] user=%%u db=%%d app=%%a client=%%h ';
        ALTER SYSTEM SET log_statement = 'ddl';
        SELECT pg_reload_conf();
    """ % (cert_path, key_path))
    result = run_module('security_audit', c.login())
    passed = set(f['id'] for f in result['findings'] if f['severity'] == 'ok')
    for check in ('sec.ssl.enabled', 'sec.ssl.min_protocol', 'sec.ssl.certificate_expiry', 'sec.files.ssl_key',
                  'sec.log.connections', 'sec.log.line_prefix', 'sec.auth.password_encryption'):
        assert check in passed, check
