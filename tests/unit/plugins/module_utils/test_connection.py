# SPDX-License-Identifier: GPL-3.0-or-later
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    _explain, conn_kwargs, connection_argument_spec)


def test_password_is_no_log_and_env_defaults_exist():
    spec = connection_argument_spec()
    assert spec['login_password']['no_log'] is True
    for opt, env in (('login_host', 'PGHOST'), ('login_port', 'PGPORT'), ('login_user', 'PGUSER'),
                     ('login_password', 'PGPASSWORD'), ('login_db', 'PGDATABASE'), ('ssl_mode', 'PGSSLMODE'),
                     ('ca_cert', 'PGSSLROOTCERT'), ('connect_timeout', 'PGCONNECT_TIMEOUT')):
        assert spec[opt]['fallback'][1] == [env]


def test_socket_wins_over_host_and_ssl_files_map_to_libpq():
    kw = conn_kwargs({'login_unix_socket': '/run/pg', 'login_host': 'db1', 'login_port': 5433,
                      'login_user': 'u', 'login_password': 'secret', 'ca_cert': '/ca.pem', 'ssl_mode': 'verify-full'},
                     dbname='app', application_name='x')
    assert kw['host'] == '/run/pg' and kw['port'] == 5433 and kw['dbname'] == 'app'
    assert kw['sslrootcert'] == '/ca.pem' and kw['sslmode'] == 'verify-full' and kw['password'] == 'secret'


def test_error_explanations_name_the_fix():
    kw = conn_kwargs({'login_host': 'db1', 'login_port': 5432}, dbname='app')
    assert 'login_password' in _explain(Exception('FATAL:  password authentication failed for user "x"'), kw)
    assert 'login_db' in _explain(Exception('FATAL:  database "app" does not exist'), kw)
    msg = _explain(Exception('connection to server at "db1", port 5432 failed: Connection refused'), kw)
    assert msg.startswith('cannot connect to PostgreSQL at db1:5432') and 'Fix: check that the server' in msg
