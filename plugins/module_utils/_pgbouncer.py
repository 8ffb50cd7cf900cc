# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""pgbouncer: its admin console (PAUSE with a deadline, RESUME, RELOAD, SHOW DATABASES) and the
``[databases]`` section of its configuration file (every entry pointed at another server).

pgbouncer 1.18 can not say whether it is paused (SHOW STATE came later): PAUSE and RESUME answer
"already suspended/paused" and "not paused/suspended", which is how an idempotent run knows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import select
import time

from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    conn_kwargs, connect_console, require_psycopg2)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import (
    ConnectionFailed, ParameterError, PgopsError, QueryFailed)
from ansible_collections.pgops.postgresql.plugins.module_utils._process import effective_user

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # reported by require_psycopg2
    psycopg2 = None

ALREADY_PAUSED = 'already suspended/paused'
NOT_PAUSED = 'not paused/suspended'
# a host name, an address or a unix socket directory: nothing that could end a libpq keyword value
SERVER_HOST = re.compile(r'^([0-9A-Za-z][0-9A-Za-z._:-]{0,252}|/[^\s\'"\\=;#,]{0,1023})$')


class PauseTimeout(PgopsError):
    """PAUSE did not complete in time (transactions kept running); the pooler was resumed."""


class Console(object):
    """The admin console of one instance; ``queries`` records every command, in order."""

    def __init__(self, params, queries, os_user=None, application_name='pgops_pool_control'):
        require_psycopg2()
        self.params = params
        self.queries = queries
        self.os_user = os_user
        self.application_name = application_name
        with effective_user(os_user):
            self.session = connect_console(params, queries, application_name)

    def close(self):
        self.session.close()

    def command(self, text):
        """Run one console command; its rows (dicts) when it returns some."""
        self.queries.append(text)
        cur = self.session.conn.cursor()
        try:
            cur.execute(text)
        except psycopg2.Error as exc:
            raise QueryFailed(_first_line(exc))
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def pause(self, timeout):
        """PAUSE every pool, waiting at most ``timeout`` seconds for running transactions. True when
        it paused, False when it was paused already; on timeout the pooler is resumed and
        PauseTimeout raised (nothing changed)."""
        self.queries.append('PAUSE')
        kw = conn_kwargs(self.params, 'pgbouncer', self.application_name)
        try:
            with effective_user(self.os_user):
                waiter = psycopg2.connect(async_=1, **kw)
                _wait(waiter, time.time() + (kw.get('connect_timeout') or 10))
        except psycopg2.Error as exc:
            raise ConnectionFailed('cannot open a second console session for PAUSE: %s' % _first_line(exc))
        try:
            cursor = waiter.cursor()  # an asynchronous cursor must outlive the wait
            cursor.execute('PAUSE')
            try:
                if _wait(waiter, time.time() + timeout):
                    return True
            except psycopg2.Error as exc:
                if ALREADY_PAUSED in str(exc):
                    return False
                raise QueryFailed('PAUSE failed: %s' % _first_line(exc))
        finally:
            waiter.close()
        busy = [p for p in self.command('SHOW POOLS') if p.get('database') != 'pgbouncer' and p.get('sv_active')]
        self.resume()
        raise PauseTimeout(
            'PAUSE did not complete in %d s: transactions kept server connections busy (%s). The pooler was resumed; '
            'nothing changed. Fix: end the long transactions (or sessions, in a session pool) or raise pause_timeout'
            % (timeout, ', '.join('%s/%s: %s active' % (p['database'], p['user'], p['sv_active']) for p in busy)
               or 'none left when the wait ended'))

    def resume(self):
        """RESUME; False when the pooler was not paused."""
        try:
            self.command('RESUME')
        except QueryFailed as exc:
            if NOT_PAUSED in exc.msg:
                return False
            raise
        return True

    def databases(self):
        """The databases pgbouncer serves (the console's own left out): name, host, port, paused."""
        return [dict(name=r['name'], host=r.get('host'), port=r.get('port'), paused=bool(r.get('paused')))
                for r in self.command('SHOW DATABASES') if r['name'] != 'pgbouncer']


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def _wait(conn, deadline):
    """Drive an asynchronous connection until its current step is done; False at the deadline."""
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return True
        left = deadline - time.time()
        if left <= 0:
            return False
        fd = conn.fileno()
        select.select([fd] if state == psycopg2.extensions.POLL_READ else [],
                      [fd] if state == psycopg2.extensions.POLL_WRITE else [], [], min(left, 0.5))


SECTION = re.compile(r'^\s*\[([^\]]*)\]\s*$')
ENTRY = re.compile(r'^(\s*)([^\s=;#][^=]*?)(\s*=\s*)(.*?)(\s*)$')
TOKEN = re.compile(r"(\s*)([A-Za-z_]+)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']*)")


def check_server(host, port):
    if not host or not SERVER_HOST.match(host):
        raise ParameterError('server_host', '%r is not a host name, an address or a socket directory' % (host,),
                             'give the new primary\'s address as its certificate names it (no spaces or quotes)')
    if not port or not 0 < port < 65536:
        raise ParameterError('server_port', '%r is not a port' % (port,), 'give the port of the new primary (1-65535)')


def retarget(text, host, port):
    """The configuration with every ``[databases]`` entry pointing at ``host``:``port`` (other keys
    kept), and the names of the entries. Comments and the other sections are left as they are."""
    out, names, section = [], [], None
    for line in text.splitlines(True):
        body, end = (line[:-1], '\n') if line.endswith('\n') else (line, '')
        head = SECTION.match(body)
        if head:
            section = head.group(1).strip().lower()
        elif section == 'databases' and not body.lstrip().startswith((';', '#', '%')):
            entry = ENTRY.match(body)
            if entry:
                names.append(entry.group(2))
                body = entry.group(1) + entry.group(2) + entry.group(3) + _point(entry.group(4), host, port) + entry.group(5)
        out.append(body + end)
    return ''.join(out), names


def _point(connstr, host, port):
    """``connstr`` (libpq-style key=value pairs, values bare or in single quotes) with host and port
    replaced, or added in front when missing."""
    pos, out, seen = 0, [], set()
    while pos < len(connstr):
        m = TOKEN.match(connstr, pos)
        if not m or m.end() == pos:
            raise PgopsError('can not read the [databases] entry %r near %r; nothing was changed. Fix: write it as '
                             'key=value pairs, values with spaces in single quotes' % (connstr, connstr[pos:pos + 20]))
        key = m.group(2).lower()
        value = m.group(4)
        if key in ('host', 'port'):
            seen.add(key)
            value = host if key == 'host' else str(port)
        out.append(m.group(1) + m.group(2) + m.group(3) + value)
        pos = m.end()
    missing = ['%s=%s' % (k, host if k == 'host' else port) for k in ('host', 'port') if k not in seen]
    return ' '.join(missing + ([''.join(out).strip()] if out else []))
