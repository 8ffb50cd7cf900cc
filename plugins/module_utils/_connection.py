# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Common connection options, connecting, and a session that records its SQL."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import env_fallback

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import (
    ConnectionFailed,
    MissingLibraryError,
    ParameterError,
    QueryFailed,
)
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import as_text

try:
    import psycopg2
    import psycopg2.extras
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

SSL_MODES = ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']


def connection_argument_spec():
    """The options every module that talks to a server accepts."""
    return dict(
        login_host=dict(type='str', default='', fallback=(env_fallback, ['PGHOST'])),
        login_port=dict(type='int', default=5432, fallback=(env_fallback, ['PGPORT'])),
        login_user=dict(type='str', default='postgres', fallback=(env_fallback, ['PGUSER'])),
        login_password=dict(type='str', default='', no_log=True,
                            fallback=(env_fallback, ['PGPASSWORD'])),
        login_db=dict(type='str', default='postgres', fallback=(env_fallback, ['PGDATABASE'])),
        login_unix_socket=dict(type='str', default=''),
        ssl_mode=dict(type='str', default='prefer', choices=SSL_MODES,
                      fallback=(env_fallback, ['PGSSLMODE'])),
        ca_cert=dict(type='path', fallback=(env_fallback, ['PGSSLROOTCERT'])),
        ssl_cert=dict(type='path', fallback=(env_fallback, ['PGSSLCERT'])),
        ssl_key=dict(type='path', no_log=False, fallback=(env_fallback, ['PGSSLKEY'])),
        connect_timeout=dict(type='int', default=10, fallback=(env_fallback, ['PGCONNECT_TIMEOUT'])),
    )


def require_psycopg2():
    if not HAS_PSYCOPG2:
        raise MissingLibraryError(
            "psycopg2 is not installed for the Python that runs this module on the managed host. "
            "Fix: apt-get install python3-psycopg2 on the managed host (Debian), or pip install "
            "psycopg2-binary into its ansible_python_interpreter.")


def conn_kwargs(params, dbname=None, application_name='pgops'):
    """libpq keyword arguments from the module parameters (no secrets logged)."""
    kw = dict(
        dbname=dbname or params.get('login_db') or 'postgres',
        user=params.get('login_user') or 'postgres',
        port=params.get('login_port') or 5432,
        sslmode=params.get('ssl_mode') or 'prefer',
        connect_timeout=params.get('connect_timeout') or 10,
        application_name=application_name,
    )
    host = params.get('login_unix_socket') or params.get('login_host')
    if host:
        kw['host'] = host
    if params.get('login_password'):
        kw['password'] = params['login_password']
    for opt, key in (('ca_cert', 'sslrootcert'), ('ssl_cert', 'sslcert'), ('ssl_key', 'sslkey')):
        if params.get(opt):
            kw[key] = params[opt]
    return kw


def _explain(exc, kw, server='PostgreSQL'):
    text = str(exc).strip().splitlines()
    first = text[0] if text else exc.__class__.__name__
    where = "%s:%s" % (kw.get('host', 'default socket'), kw.get('port'))
    low = str(exc).lower()
    if 'password authentication failed' in low or 'no password supplied' in low:
        fix = "check login_user and login_password (or PGPASSWORD) for this server"
    elif 'database' in low and 'does not exist' in low:
        fix = "check login_db (or the databases option): the database '%s' does not exist" % kw['dbname']
    elif 'role' in low and 'does not exist' in low:
        fix = "check login_user: create the role or use an existing one"
    elif 'pg_hba.conf' in low:
        fix = "add a pg_hba.conf rule for this user, database and client address, or connect another way"
    elif 'timeout' in low or 'timed out' in low:
        fix = "check that login_host is reachable and raise connect_timeout if the network is slow"
    else:
        fix = ("check that the server is running and that login_host/login_unix_socket "
               "and login_port point at it")
    return "cannot connect to %s at %s (database %s, user %s): %s. Fix: %s" % (
        server, where, kw['dbname'], kw['user'], first, fix)


class Session(object):
    """One connection; every statement it runs is appended to ``queries``."""

    def __init__(self, conn, dbname, queries):
        self.conn = conn
        self.dbname = dbname
        self.queries = queries

    def fetch_all(self, statement, params=None):
        cur = self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        try:
            self.queries.append(as_text(statement, self.conn))
            try:
                cur.execute(statement, params)
            except psycopg2.Error as exc:
                detail = getattr(getattr(exc, 'diag', None), 'message_detail', None)
                failed = QueryFailed("query failed in database %s: %s%s" % (
                    self.dbname, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    ' (%s)' % detail if detail else ''))
                failed.pgcode = exc.pgcode  # the SQLSTATE, for callers that tell a lock timeout from an error
                raise failed
            if cur.description is None:
                return []
            return [dict(row) for row in cur.fetchall()]
        finally:
            cur.close()

    def fetch_one(self, statement, params=None):
        rows = self.fetch_all(statement, params)
        return rows[0] if rows else None

    def close(self):
        try:
            if not self.conn.closed:
                self.conn.rollback()
                self.conn.close()
        except psycopg2.Error:
            pass


def connect(params, dbname=None, readonly=False, application_name='pgops',
            statement_timeout_ms=None, queries=None, lock_timeout_ms=None, server='PostgreSQL'):
    """Open a session. ``readonly`` puts every transaction in READ ONLY mode."""
    require_psycopg2()
    kw = conn_kwargs(params, dbname, application_name)
    options = []
    if statement_timeout_ms:
        options.append('-c statement_timeout=%d' % int(statement_timeout_ms))
    if lock_timeout_ms:
        options.append('-c lock_timeout=%d' % int(lock_timeout_ms))
    if options:
        kw['options'] = ' '.join(options)
    try:
        conn = psycopg2.connect(**kw)
    except psycopg2.Error as exc:
        raise ConnectionFailed(_explain(exc, kw, server))
    if readonly:
        conn.set_session(readonly=True, autocommit=False)
    return Session(conn, kw['dbname'], queries if queries is not None else [])


def connect_console(params, queries, application_name='pgops'):
    """A session on pgbouncer's admin console (the virtual database ``pgbouncer``): autocommit, no
    startup options (the console takes SHOW commands, not transactions)."""
    session = connect(params, 'pgbouncer', application_name=application_name, queries=queries, server='pgbouncer')
    session.conn.autocommit = True
    return session


ACCEPTING_DATABASES = 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1'


def select_databases(available, wanted, excluded=()):
    """The databases to visit: ``wanted`` (all ``available`` when empty) less ``excluded``."""
    missing = sorted(set(wanted or []) - set(available))
    if missing:
        raise ParameterError('databases', 'database(s) %s do not exist or do not accept connections'
                             % ', '.join(missing), 'use existing databases: %s' % ', '.join(available))
    return [d for d in (wanted or available) if d not in set(excluded or [])]


def per_database(params, session, names, collect, **opts):
    """``collect(session)`` in each database: the open session for its own database, one new
    connection (closed afterwards) for each other one."""
    out = {}
    for name in names:
        if name == session.dbname:
            out[name] = collect(session)
            continue
        other = connect(params, dbname=name, **opts)
        try:
            out[name] = collect(other)
        finally:
            other.close()
    return out
