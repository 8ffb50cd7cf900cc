# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Pool health of one pgbouncer instance, from its admin console.

``collect(session)`` runs four console commands whatever the number of pools (SHOW POOLS, SHOW
DATABASES, SHOW LISTS, SHOW CONFIG); ``evaluate`` (pure, through the registry) finds clients waiting
for a server connection, the longest wait, pools using most of their size and client connections
near max_client_conn.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import severity as _sev
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'connection-pooling.md#the-checks'
COMMANDS = ('SHOW POOLS', 'SHOW DATABASES', 'SHOW LISTS', 'SHOW CONFIG')
SERVER_STATES = ('sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login')
BOUNDS = ('max_client_conn', 'default_pool_size', 'reserve_pool_size', 'pool_mode', 'max_db_connections',
          'query_wait_timeout')


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def collect(session):
    """The console's answers, shaped: pools with their server connections and wait, each database's
    pool size, the list counts and the settings that bound them."""
    pools_rows, db_rows, list_rows, config_rows = [session.fetch_all(c) for c in COMMANDS]
    sizes = dict((r['name'], _int(r.get('pool_size'))) for r in db_rows)
    config = dict((r['key'], r['value']) for r in config_rows)
    pools = []
    for r in pools_rows:
        if r.get('database') == 'pgbouncer':
            continue
        servers = sum(_int(r.get(k)) for k in SERVER_STATES)
        pools.append({'database': r['database'], 'user': r['user'], 'pool_mode': r.get('pool_mode'),
                      'cl_active': _int(r.get('cl_active')), 'cl_waiting': _int(r.get('cl_waiting')),
                      'servers': servers, 'sv_active': _int(r.get('sv_active')),
                      'pool_size': sizes.get(r['database']) or _int(config.get('default_pool_size')),
                      'maxwait_s': round(_int(r.get('maxwait')) + _int(r.get('maxwait_us')) / 1e6, 3)})
    lists = dict((r['list'], _int(r['items'])) for r in list_rows)
    return {'pools': pools, 'auth_user': config.get('auth_user') or None, 'used_clients': lists.get('used_clients', 0),
            'max_client_conn': _int(config.get('max_client_conn')), 'lists': lists,
            'config': dict((k, config.get(k)) for k in BOUNDS)}


def _name(p):
    return '%s/%s' % (p['database'], p['user'])


def _c_waiting(f, t):
    out = []
    for p in f['pools']:
        sev = _sev(p['cl_waiting'], t['waiting_clients_warning'], t['waiting_clients_critical'])
        if sev:
            out.append(finding('pool.clients_waiting', sev, 'Clients wait for a server connection', obj=_name(p),
                               observed='%d client(s) waiting, %d active, %d of %d server connection(s) in use' % (
                                   p['cl_waiting'], p['cl_active'], p['servers'], p['pool_size']),
                               expected='fewer than %d waiting' % t['waiting_clients_warning'],
                               remediation='Look for long transactions holding server connections (idle in '
                                           'transaction); raise the pool size if the server has room '
                                           '(docs/runbooks/connection-pooling.md#sizing).'))
    return out


def _c_maxwait(f, t):
    out = []
    for p in f['pools']:
        sev = _sev(p['maxwait_s'], t['maxwait_warning_s'], t['maxwait_critical_s'])
        if sev:
            out.append(finding('pool.maxwait', sev, 'A client has waited long for a server connection', obj=_name(p),
                               observed='the oldest waiting client has waited %.1f s' % p['maxwait_s'],
                               expected='under %s s' % t['maxwait_warning_s'],
                               remediation='The pool is exhausted: see pool.clients_waiting; clients give up at '
                                           'query_wait_timeout (%s s).' % f['config'].get('query_wait_timeout')))
    return out


def _c_saturation(f, t):
    out = []
    for p in f['pools']:
        # the auth_user's pool keeps one connection for the lookups: full by design
        if not p['pool_size'] or p['user'] == f.get('auth_user'):
            continue
        pct = 100.0 * p['servers'] / p['pool_size']
        if pct >= t['pool_usage_warning_pct']:
            out.append(finding('pool.saturation', 'warning', 'A pool uses most of its server connections',
                               obj=_name(p), observed='%d of %d server connection(s) (%.0f%%), %s mode' % (
                                   p['servers'], p['pool_size'], pct, p['pool_mode']),
                               expected='under %s%% of pool_size' % t['pool_usage_warning_pct'],
                               remediation='Size the pool for the peak (docs/runbooks/connection-pooling.md#sizing); '
                                           'in session mode every connected client holds a server connection.'))
    return out


def _c_clients(f, t):
    if not f['max_client_conn']:
        return []
    pct = 100.0 * f['used_clients'] / f['max_client_conn']
    sev = _sev(pct, t['client_conn_warning_pct'], t['client_conn_critical_pct'])
    if not sev:
        return []
    return [finding('pool.client_connections', sev, 'Client connections near max_client_conn', obj='pgbouncer',
                    observed='%d of %d client connection(s) (%.0f%%)' % (f['used_clients'], f['max_client_conn'], pct),
                    expected='under %s%%' % t['client_conn_warning_pct'],
                    remediation='Past max_client_conn new clients are refused: raise it (and the open-file limit), '
                                'or find the application that leaks connections.')]


REGISTRY = Registry('pools', [
    Check('pool.clients_waiting', 'object', _c_waiting, name='clients_waiting', runbook=RUNBOOK,
          title='No client waits for a server connection', thresholds=(
              Threshold('waiting_clients_warning', 1, 'int', 'warning at this many clients waiting in one pool',
                        at_most='waiting_clients_critical'),
              Threshold('waiting_clients_critical', 20, 'int', 'critical at this many'))),
    Check('pool.maxwait', 'object', _c_maxwait, name='maxwait', runbook=RUNBOOK,
          title='No client waited long', thresholds=(
              Threshold('maxwait_warning_s', 1, 'num', 'warning when the oldest waiting client waited this long',
                        at_most='maxwait_critical_s'),
              Threshold('maxwait_critical_s', 10, 'num', 'critical at this wait'))),
    Check('pool.saturation', 'object', _c_saturation, name='saturation', runbook=RUNBOOK,
          title='No pool near its size', thresholds=(
              Threshold('pool_usage_warning_pct', 90, 'pct', 'warning when a pool uses this share of its size'),)),
    Check('pool.client_connections', 'server', _c_clients, name='client_connections', runbook=RUNBOOK,
          title='Client connections well under max_client_conn', thresholds=(
              Threshold('client_conn_warning_pct', 80, 'pct', 'warning at this share of max_client_conn',
                        at_most='client_conn_critical_pct'),
              Threshold('client_conn_critical_pct', 95, 'pct', 'critical at this share'))),
])
