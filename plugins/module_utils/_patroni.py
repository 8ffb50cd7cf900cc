# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Switchover, failover and status of a Patroni-managed cluster through Patroni's REST API.

When Patroni manages a cluster it alone may stop, promote or rewind its nodes; the
collection then asks it (``/cluster``, ``/switchover``, ``/failover``) instead of acting
natively, so the two never fight.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connect
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._replication import TopologyError
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import wait_until


class Patroni(object):
    def __init__(self, urls, user=None, password=None, validate_certs=True, timeout=30):
        self.urls = [u.rstrip('/') for u in urls]
        self.user = user
        self.password = password
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.calls = []

    def request(self, method, path, body=None, timeout=None):
        """The first API endpoint that answers; returns (status, text)."""
        errors = []
        for url in self.urls:
            self.calls.append('%s %s%s' % (method, url, path))
            try:
                resp = open_url(url + path, method=method, data=json.dumps(body) if body is not None else None,
                                headers={'Content-Type': 'application/json'}, url_username=self.user,
                                url_password=self.password, force_basic_auth=bool(self.user),
                                validate_certs=self.validate_certs, timeout=timeout or self.timeout)
                return resp.getcode(), resp.read().decode('utf-8', 'replace')
            except HTTPError as exc:
                return exc.code, exc.read().decode('utf-8', 'replace')
            except (URLError, OSError, ValueError) as exc:
                errors.append('%s: %s' % (url, exc))
        raise ToolError('no Patroni REST API answered (%s). Fix: check patroni_api and that Patroni runs'
                        % '; '.join(errors))

    def cluster(self):
        code, text = self.request('GET', '/cluster')
        if code != 200:
            raise ToolError('GET /cluster answered %d: %s' % (code, text.strip()))
        return json.loads(text)

    def leader(self, cluster=None):
        members = (cluster or self.cluster()).get('members') or []
        leaders = [m for m in members if m.get('role') in ('leader', 'standby_leader')]
        return leaders[0] if leaders else None


def members_summary(cluster):
    return [dict(name=m.get('name'), role='primary' if m.get('role') == 'leader' else 'standby',
                 patroni_role=m.get('role'), state=m.get('state'), host=m.get('host'), port=m.get('port'),
                 timeline=m.get('timeline'), lag_bytes=m.get('lag') if isinstance(m.get('lag'), int) else None)
            for m in cluster.get('members') or []]


def _candidate(cluster, wanted, max_lag_bytes, force):
    replicas = [m for m in cluster.get('members') or [] if m.get('role') in ('replica', 'sync_standby')]
    if wanted:
        found = [m for m in replicas if m.get('name') == wanted]
        if not found:
            raise TopologyError("parameter 'candidate': %s is not a replica in Patroni's view (%s). Nothing was "
                                "changed. Fix: choose one of %s" % (wanted, ', '.join(
                                    '%s=%s' % (m.get('name'), m.get('role')) for m in cluster.get('members') or []),
                                    ', '.join(m.get('name') for m in replicas) or 'no replica'))
        member = found[0]
    elif replicas:
        member = sorted(replicas, key=lambda m: (m.get('lag') if isinstance(m.get('lag'), int) else 1 << 62,
                                                 0 if m.get('role') == 'sync_standby' else 1, m.get('name')))[0]
    else:
        raise TopologyError('Patroni reports no replica to promote. Nothing was changed')
    if member.get('state') not in ('streaming', 'running'):
        raise TopologyError("parameter 'candidate': %s is %s, not streaming. Nothing was changed" % (
            member.get('name'), member.get('state')))
    lag = member.get('lag') if isinstance(member.get('lag'), int) else None
    if lag is not None and lag > max_lag_bytes and not force:
        raise TopologyError('%s is %d bytes behind (bound max_lag_bytes=%d). Nothing was changed. Fix: wait, choose '
                            'another replica, or force=true' % (member.get('name'), lag, max_lag_bytes))
    return member


def run_action(api, action, opts, check_mode, steps):
    """status, switchover or failover through Patroni; returns the module result. ``opts`` are the
    module parameters (the login options reach the new leader for the write check)."""
    cluster = steps.run('GET /cluster', api.cluster)
    if action == 'status':
        leader = api.leader(cluster)
        return dict(changed=False, nodes=members_summary(cluster), primary=leader and leader.get('name'),
                    split_brain=False, managed_by='patroni')
    if action == 'rejoin':
        raise PgopsError('rejoin of a Patroni-managed node is done by Patroni itself (use_pg_rewind). Fix: start '
                         'Patroni on that node, or leave patroni_api out if Patroni does not manage this cluster')
    leader = api.leader(cluster)
    if opts.get('candidate') and leader and leader.get('name') == opts['candidate']:
        return dict(changed=False, primary=leader['name'], plan=[], managed_by='patroni',
                    msg='%s is already the leader' % leader['name'])
    if action == 'switchover' and not leader:
        raise TopologyError('Patroni reports no leader. Nothing was changed. Fix: use action=failover')
    member = _candidate(cluster, opts.get('candidate'), opts['max_lag_bytes'], opts['force'])
    body = {'candidate': member['name']}
    if action == 'switchover':
        body['leader'] = leader['name']
    plan = ['POST /%s %s' % (action, json.dumps(body, sort_keys=True)),
            'wait until Patroni reports %s as the running leader' % member['name'],
            'verify %s accepts writes' % member['name']]
    result = dict(changed=True, plan=plan, managed_by='patroni', old_primary=leader and leader.get('name'),
                  primary=member['name'])
    if check_mode:
        return result
    t0 = time.time()
    code, text = steps.run('POST /%s' % action, api.request, 'POST', '/' + action, body, opts['timeout'])
    if code not in (200, 202):
        raise ToolError('Patroni refused the %s (HTTP %d): %s' % (action, code, text.strip()))
    result['patroni_response'] = text.strip()

    def leader_running():
        now = api.cluster()
        lead = api.leader(now)
        return lead if lead and lead.get('name') == member['name'] and lead.get('state') == 'running' else None
    lead = steps.run('wait for the new leader', wait_until, leader_running, opts['timeout'],
                     'Patroni reporting %s as the running leader' % member['name'], 0.05)
    conn = dict(opts, login_host=lead.get('host') or '', login_port=lead.get('port') or 5432, login_unix_socket='')

    def write():
        s = connect(conn, application_name='pgops_failover')
        try:
            s.conn.autocommit = True
            return s.fetch_one('SELECT txid_current()::text AS xid, pg_current_wal_lsn()::text AS lsn')
        finally:
            s.close()
    result['write'] = steps.run('verify %s accepts writes' % member['name'], wait_until, write, opts['timeout'],
                                'a write on %s' % member['name'])
    result['write_unavailable_seconds'] = round(time.time() - t0, 3)
    result['total_seconds'] = result['write_unavailable_seconds']
    return result
