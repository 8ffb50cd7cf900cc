# SPDX-License-Identifier: GPL-3.0-or-later
"""Pool health from tables of console answers."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import pools

TH = pools.REGISTRY.defaults()


class Console(object):
    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def fetch_all(self, command):
        self.asked.append(command)
        return self.answers[command]


def pool(db, user, waiting=0, active=1, servers=1, maxwait=0):
    return {'database': db, 'user': user, 'cl_active': active, 'cl_waiting': waiting, 'sv_active': servers,
            'sv_idle': 0, 'sv_used': 0, 'sv_tested': 0, 'sv_login': 0, 'maxwait': maxwait, 'maxwait_us': 0,
            'pool_mode': 'transaction'}


def facts(rows, used=10, max_conn=100, sizes=None):
    console = Console({
        'SHOW POOLS': rows + [pool('pgbouncer', 'pgbouncer')],
        'SHOW DATABASES': [{'name': n, 'pool_size': s} for n, s in (sizes or {'app': 4}).items()],
        'SHOW LISTS': [{'list': 'used_clients', 'items': used}],
        'SHOW CONFIG': [{'key': 'max_client_conn', 'value': str(max_conn)}, {'key': 'default_pool_size', 'value': '20'},
                        {'key': 'auth_user', 'value': 'pgbouncer_auth'}]})
    return pools.collect(console), console


CASES = [
    ([pool('app', 'web')], {}, []),
    ([pool('app', 'web', waiting=3, servers=4, maxwait=2)], {},
     [('pool.clients_waiting', 'warning'), ('pool.maxwait', 'warning'), ('pool.saturation', 'warning')]),
    ([pool('app', 'web', waiting=25, servers=4, maxwait=12)], {},
     [('pool.clients_waiting', 'critical'), ('pool.maxwait', 'critical'), ('pool.saturation', 'warning')]),
    # the lookup role's pool is full by design
    ([pool('app', 'pgbouncer_auth', servers=4)], {}, []),
    ([pool('app', 'web')], {'used': 96}, [('pool.client_connections', 'critical')]),
    ([pool('app', 'web')], {'used': 85}, [('pool.client_connections', 'warning')]),
    # no pool_size of its own: the default
    ([pool('other', 'web', servers=19)], {}, [('pool.saturation', 'warning')]),
]


@pytest.mark.parametrize('rows,extra,expected', CASES)
def test_each_signal(rows, extra, expected):
    f, console = facts(rows, **extra)
    found = sorted((x['id'], x['severity']) for x in pools.REGISTRY.evaluate(f, TH) if x['severity'] != 'ok')
    assert found == sorted(expected)
    assert console.asked == list(pools.COMMANDS) and all(p['database'] != 'pgbouncer' for p in f['pools'])
