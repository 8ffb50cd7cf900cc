# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Prometheus exporter for one pgbouncer instance (pgops.postgresql, monitoring role), run as
``/usr/bin/python3 pgops_pgbouncer_exporter.py --listen-address ADDR --port PORT``.

Debian's prometheus-pgbouncer-exporter 1.7 stops at pgbouncer 1.8's SHOW STATS columns and fails on
pgbouncer 1.18 (KeyError 'total_requests'), so the role runs this one. Each scrape opens one console
session (the libpq environment says where and as whom: PGHOST, PGPORT, PGUSER, PGPASSFILE) and runs
the four commands pool_check runs - SHOW POOLS, SHOW DATABASES, SHOW LISTS, SHOW CONFIG - whatever the
number of pools. The metric names the pgops alert rules read:

  pgbouncer_up                                1 when the console answered
  pgbouncer_active_clients{database,user}     cl_active
  pgbouncer_waiting_clients{database,user}    cl_waiting
  pgbouncer_server_connections{database,user} sv_active + sv_idle + sv_used + sv_tested + sv_login
  pgbouncer_maxwait_seconds{database,user}    the oldest waiting client's wait
  pgbouncer_pool_size{database}               the pool size the database gets
  pgbouncer_used_clients, pgbouncer_max_client_conn
"""

import argparse
import sys
import time

import psycopg2
from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily

SERVER_STATES = ('sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login')


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def read_console(timeout):
    conn = psycopg2.connect(dbname='pgbouncer', connect_timeout=timeout, application_name='pgops_pgbouncer_exporter')
    conn.autocommit = True
    try:
        out = {}
        for command in ('SHOW POOLS', 'SHOW DATABASES', 'SHOW LISTS', 'SHOW CONFIG'):
            cur = conn.cursor()
            cur.execute(command)
            names = [d[0] for d in cur.description]
            out[command] = [dict(zip(names, row)) for row in cur.fetchall()]
        return out
    finally:
        conn.close()


class PoolCollector(object):
    def __init__(self, timeout):
        self.timeout = timeout

    def collect(self):
        up = GaugeMetricFamily('pgbouncer_up', 'Whether the pgbouncer console answered the scrape')
        try:
            data = read_console(self.timeout)
        except psycopg2.Error as exc:
            sys.stderr.write('pgbouncer console: %s\n' % str(exc).strip())
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        pool_labels = ['database', 'user']
        families = dict((name, GaugeMetricFamily('pgbouncer_' + name, doc, labels=pool_labels)) for name, doc in (
            ('active_clients', 'Clients linked to a server connection (cl_active)'),
            ('waiting_clients', 'Clients waiting for a server connection (cl_waiting)'),
            ('server_connections', 'Server connections of the pool, in any state'),
            ('maxwait_seconds', 'How long the oldest waiting client has waited')))
        for r in data['SHOW POOLS']:
            if r.get('database') == 'pgbouncer':
                continue
            labels = [r['database'], r['user']]
            families['active_clients'].add_metric(labels, _int(r.get('cl_active')))
            families['waiting_clients'].add_metric(labels, _int(r.get('cl_waiting')))
            families['server_connections'].add_metric(labels, sum(_int(r.get(k)) for k in SERVER_STATES))
            families['maxwait_seconds'].add_metric(labels, _int(r.get('maxwait')) + _int(r.get('maxwait_us')) / 1e6)
        yield from families.values()
        size = GaugeMetricFamily('pgbouncer_pool_size', 'Server connections a pool of the database may open',
                                 labels=['database'])
        for r in data['SHOW DATABASES']:
            if r['name'] != 'pgbouncer':
                size.add_metric([r['name']], _int(r.get('pool_size')))
        yield size
        lists = dict((r['list'], _int(r['items'])) for r in data['SHOW LISTS'])
        config = dict((r['key'], r['value']) for r in data['SHOW CONFIG'])
        yield GaugeMetricFamily('pgbouncer_used_clients', 'Client connections in use', value=lists.get('used_clients', 0))
        yield GaugeMetricFamily('pgbouncer_max_client_conn', 'max_client_conn', value=_int(config.get('max_client_conn')))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--listen-address', default='127.0.0.1', help='address to serve /metrics on')
    parser.add_argument('--port', type=int, default=9127, help='port to serve /metrics on')
    parser.add_argument('--connect-timeout', type=int, default=5, help='seconds to reach the console')
    args = parser.parse_args()
    REGISTRY.register(PoolCollector(args.connect_timeout))
    start_http_server(args.port, addr=args.listen_address)
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    main()
