# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The DR plan: per cluster, what to do when it is hit, and how well that was last proven.

``rehearsals(root, hosts)`` reads the history already on the controller: the DR drill records
(``dr_drill/history.jsonl``) and the restore tests' fleet reports (``restore_test/*/fleet-summary.json``,
the newest ``RESTORE_RUNS`` of them). ``plan(cluster, history, now, inventory)`` is pure: the topology,
the objectives with the last measured values, where the backups and the WAL live, who to call, and the
playbook sequence of each scenario with the last time it was rehearsed. The checks turn what is
missing or stale into findings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry, Threshold
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import sla
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'dr-drill.md#the-dr-plan-checks'
RESTORE_RUNS = 60
SCENARIOS = ('primary_lost', 'site_lost', 'data_corrupted', 'operator_error')
TITLES = {'primary_lost': 'The primary is lost', 'site_lost': 'The site is lost',
          'data_corrupted': 'Data is corrupted', 'operator_error': 'An operator error at a known time'}


def rehearsals(root, hosts):
    """The drills and restore tests that concern ``hosts``, newest first, and the files that could not be read."""
    records, unreadable = sla.drill_history(root, hosts)
    drills = [sla.drill(r) for r in records]
    unreadable += drills.count(None)
    out = {'drills': sorted((d for d in drills if d is not None), key=lambda d: d['date'], reverse=True),
           'restore_tests': []}
    base = os.path.join(root, 'restore_test')
    days = sorted((d for d in (os.listdir(base) if os.path.isdir(base) else []) if sla.DAY.match(d)), reverse=True)
    for day in days[:RESTORE_RUNS]:
        try:
            dummy, results = sla.fleet(os.path.join(base, day), hosts)
            for host, h in results.items():
                rto = sla.number((((h.get('metrics') or {}).get('timings')) or {}).get('rto'))
                bad = [f for f in h.get('findings') or [] if f.get('severity') == 'critical' and not f.get('waived')]
                out['restore_tests'].append({'date': day, 'host': host, 'rto_seconds': rto,
                                             'passed': rto is not None and not bad})
        except (OSError, ValueError, TypeError, AttributeError):
            unreadable += 1
    return out, unreadable


def _sites(cluster):
    return dict((h['name'], h.get('site') or 'default') for h in cluster['hosts'])


def _age(now, day):
    when = sla.seconds('%s 00:00:00' % day) if day else None
    return None if when is None else int((now - when) // 86400)


def _cmd(inventory, playbook, *extra):
    """A command line to copy: the inventory and every value from it shell-quoted (``_q``); the
    <placeholders> a person fills in are left as they are."""
    return 'ansible-playbook -i %s playbooks/%s %s' % (shlex.quote(inventory), playbook, ' '.join(extra))


def _q(value):
    return shlex.quote(str(value))


def plan(cluster, history, now, inventory='INVENTORY'):
    """The plan of one cluster (a plain dict; the Markdown and the checks read it)."""
    hosts = cluster['hosts']
    primary = next((h for h in hosts if h.get('role') == 'primary'), None)
    standbys = [h for h in hosts if h.get('role') == 'standby']
    sync = [h['name'] for h in standbys if h.get('synchronous')]
    sites = _sites(cluster)
    every = ','.join(h['name'] for h in hosts)
    repo = cluster.get('repository') or {}
    repo_site = repo.get('site') or (sites.get(repo.get('host')) if repo.get('host') in sites else None)
    primary_name = primary['name'] if primary else '<the primary>'
    primary_site = sites.get(primary_name, 'default')
    elsewhere = [h for h in standbys if sites[h['name']] != primary_site]
    drills, tests = history['drills'], history['restore_tests']
    last_drill = drills[0] if drills else None
    moved = next((d for d in drills if d['old_primary'] in sites and d['new_primary'] in sites
                  and sites[d['old_primary']] != sites[d['new_primary']]), None)
    pitr_drill = next((d for d in drills if d['pitr_rto_seconds'] is not None), None)
    last_test = tests[0] if tests else None

    def rehearsed(date, what):
        return {'date': date, 'age_days': _age(now, date), 'by': what} if date else \
            {'date': None, 'age_days': None, 'by': None}

    candidate = sync[0] if sync else 'most-advanced'
    scenarios = {}
    if standbys:
        steps = [
            ('Make sure the primary is gone, not cut off: the daily report, the host console, the network team. '
             'Two primaries are worse than none.', None),
            ('Read the topology and the plan; nothing changes.',
             _cmd(inventory, 'failover.yml', '-e pgops_hosts=%s' % _q(every), '-e pgops_failover_confirm=%s' % _q(candidate),
                  '--check')),
            ('Promote %s (fenced primary, poolers repointed).' % (
                'the synchronous standby ' + sync[0] if sync else 'the most advanced standby'),
             _cmd(inventory, 'failover.yml', '-e pgops_hosts=%s' % _q(every), '-e pgops_failover_confirm=%s' % _q(candidate))),
            ('When the old primary is back, make it a standby of the new one.',
             _cmd(inventory, 'rejoin.yml', '-e pgops_hosts=%s' % _q(every), '-e pgops_rejoin_node=%s' % _q(primary_name))),
            ('Take a full backup from the new primary.', _cmd(inventory, 'backup.yml', '-e pgops_backup_type=full'))]
        expected_rpo = 'no acknowledged commit (synchronous standby %s)' % sync[0] if sync else \
            'the standbys\' replication lag at the moment of the loss (asynchronous)'
    else:
        steps = [('There is no standby: rebuild the primary on a new host from the backups.', None),
                 ('Install the new host (same inventory name, new address).',
                  _cmd(inventory, 'install.yml', '--limit %s' % _q(primary_name))),
                 ('Restore the newest backup and replay the archived WAL up to the loss.',
                  _cmd(inventory, 'pitr.yml', '-e pgops_hosts=%s' % _q(primary_name), '-e pgops_pitr_target_type=time',
                       "-e \"pgops_pitr_target='<time of the loss>'\"", '-e pgops_pitr_confirm=%s' % _q(primary_name)))]
        expected_rpo = 'the WAL not yet archived at the moment of the loss (archive_timeout bounds it)'
    scenarios['primary_lost'] = {'steps': steps, 'expected_rpo': expected_rpo, 'runbook': 'runbooks/failover.md',
                                 'rehearsed': rehearsed(last_drill['date'] if last_drill and standbys else None,
                                                        'dr_drill.yml (kill -9 of the primary)')}
    if elsewhere:
        target = elsewhere[0]['name']
        steps = [('Confirm the site is down and will stay down longer than the RTO objective; decide with the '
                  'people below.', None),
                 ('Promote the standby in the other site.',
                  _cmd(inventory, 'failover.yml', '-e pgops_hosts=%s' % _q(every), '-e pgops_failover_confirm=%s' % _q(target))),
                 ('Point the clients at %s (DNS, virtual IP or the poolers in the surviving site).' % target, None),
                 ('When the site is back, rejoin its nodes one by one.',
                  _cmd(inventory, 'rejoin.yml', '-e pgops_hosts=%s' % _q(every), '-e pgops_rejoin_node=<node>'))]
        ready = True
    elif repo.get('host') and repo_site and repo_site != primary_site:
        steps = [('No standby runs outside site %s: rebuild from the repository on %s (site %s).'
                  % (primary_site, repo['host'], repo_site), None),
                 ('Install new hosts in the surviving site (an inventory with their addresses).',
                  _cmd(inventory, 'install.yml', '--limit <new hosts>')),
                 ('Restore to the newest archived WAL.', _cmd(inventory, 'pitr.yml', '-e pgops_hosts=<new primary>',
                                                              '-e pgops_pitr_target_type=time',
                                                              "-e \"pgops_pitr_target='<time of the loss>'\"",
                                                              '-e pgops_pitr_confirm=<new primary>'))]
        ready = True
    else:
        steps = [('No standby and no backup repository outside site %s: a lost site loses the data. Add a standby '
                  'or a repository in another site (dr.standby_elsewhere, dr.backup_location).' % primary_site, None)]
        ready = False
    scenarios['site_lost'] = {'steps': steps, 'ready': ready, 'runbook': 'runbooks/failover.md',
                              'expected_rpo': 'as for a lost primary' if elsewhere else 'the WAL archived before the loss',
                              'rehearsed': rehearsed(moved['date'] if moved else None,
                                                     'dr_drill.yml with the new primary in another site')}
    restore_date = max([d for d in (pitr_drill and pitr_drill['date'], last_test and last_test['date']) if d] or [None])
    scenarios['data_corrupted'] = {
        'steps': [('Find the extent: amcheck on every node (a damaged page on one node only is a hardware fault).',
                   _cmd(inventory, 'weekly.yml', '-e pgops_amcheck_time_budget_s=0')),
                  ('One node damaged: switch over to a clean node and rebuild the damaged one.',
                   _cmd(inventory, 'switchover.yml', '-e pgops_hosts=%s' % _q(every), '-e pgops_switchover_candidate=<clean node>')),
                  ('Every node damaged (it replicated): restore to a time before the damage.',
                   _cmd(inventory, 'pitr.yml', '-e pgops_hosts=%s' % _q(primary_name), '-e pgops_pitr_target_type=time',
                        "-e \"pgops_pitr_target='<before the damage>'\"", '-e pgops_pitr_confirm=%s' % _q(primary_name))),
                  ('Rebuild the standbys from the restored primary, then take a full backup.',
                   _cmd(inventory, 'install.yml', '--limit %s' % (_q(','.join(h['name'] for h in standbys)) if standbys else '<standbys>')))],
        'runbook': 'runbooks/pitr.md', 'expected_rpo': 'everything after the restore target',
        'rehearsed': rehearsed(restore_date, 'dr_drill.yml (PITR) or restore_test.yml')}
    scenarios['operator_error'] = {
        'steps': [('Before a risky change: a named restore point.',
                   _cmd(inventory, 'create_restore_point.yml', '-e pgops_restore_point=<change id>')),
                  ('Stop the writers that would make it worse; note the time of the mistake from the log.', None),
                  ('Whole cluster back to just before it (everything after is lost), or restore into a scratch server '
                   'with the pitr_restore module and copy the lost rows back with pg_dump -t.',
                   _cmd(inventory, 'pitr.yml', '-e pgops_hosts=%s' % _q(primary_name), '-e pgops_pitr_target_type=name',
                        '-e pgops_pitr_target=<change id>', '-e pgops_pitr_confirm=%s' % _q(primary_name)))],
        'runbook': 'runbooks/pitr.md', 'expected_rpo': 'everything after the restore point or time',
        'rehearsed': rehearsed(pitr_drill['date'] if pitr_drill else None, 'dr_drill.yml (PITR to a time)')}

    measured = {'drill_rto_seconds': last_drill and last_drill['rto_seconds'],
                'drill_rpo_transactions': last_drill and last_drill['rpo_transactions'],
                'drill_date': last_drill and last_drill['date'], 'drill_passed': last_drill and last_drill['passed'],
                'restore_rto_seconds': last_test and last_test['rto_seconds'],
                'restore_date': last_test and last_test['date'], 'restore_host': last_test and last_test['host'],
                'pitr_rto_seconds': pitr_drill and pitr_drill['pitr_rto_seconds']}
    return {'name': cluster['name'], 'primary': primary_name, 'primary_site': primary_site,
            'hosts': hosts, 'repository': repo, 'repository_site': repo_site,
            'objectives': {'rto_seconds': sla.number(cluster.get('rto_seconds')),
                           'rpo_seconds': sla.number(cluster.get('rpo_seconds'))},
            'measured': measured, 'contacts': cluster.get('contacts') or [], 'scenarios': scenarios,
            'drills': len(drills), 'restore_tests': len(tests)}


# ---------------------------------------------------------------------------------------- checks
def _f(check, severity, title, obj, observed, expected, remediation):
    return finding('dr.' + check, severity, title, obj=obj, observed=observed, expected=expected,
                   remediation=remediation)


def _c_rehearsed(p, t):
    out = []
    for name in SCENARIOS:
        r = p['scenarios'][name]['rehearsed']
        if r['date'] is None or r['age_days'] > t['rehearsal_max_age_days']:
            out.append(_f('rehearsed', 'warning', 'A DR scenario was not rehearsed recently', '%s: %s' % (
                p['name'], TITLES[name]), 'never' if r['date'] is None else 'last on %s (%d days ago)' % (
                r['date'], r['age_days']), 'rehearsed within %d days' % t['rehearsal_max_age_days'],
                'Rehearse it on a drill inventory: %s.' % p['scenarios'][name]['rehearsed']['by']
                if r['by'] else 'Rehearse it on a drill inventory (docs/runbooks/dr-drill.md).'))
    return out


def _c_objectives(p, t):
    out = []
    o, m = p['objectives'], p['measured']
    if o['rto_seconds'] is None and o['rpo_seconds'] is None:
        return [_f('objectives', 'warning', 'The cluster has no recovery objectives', p['name'], 'none set',
                   'pgops_sla_rto_seconds and pgops_sla_rpo_seconds', 'Agree them with the service owner and set '
                   'them in the inventory: a plan without objectives can not be judged.')]
    for label, value in (('drill', m['drill_rto_seconds']), ('restore test', m['restore_rto_seconds']),
                         ('PITR drill', m['pitr_rto_seconds'])):
        if o['rto_seconds'] is not None and value is not None and value > o['rto_seconds']:
            out.append(_f('objectives', 'warning', 'The last measured recovery time misses the objective',
                          '%s: %s' % (p['name'], label), '%.1f s' % value, 'at most %.0f s' % o['rto_seconds'],
                          'Find what took the time (the drill history, docs/runbooks/dr-drill.md) or agree a new '
                          'objective.'))
    if m['drill_rpo_transactions'] and o['rpo_seconds'] is not None and o['rpo_seconds'] == 0:
        out.append(_f('objectives', 'warning', 'The last drill lost acknowledged commits against an objective of none',
                      p['name'], '%d transactions' % m['drill_rpo_transactions'], '0',
                      'Make a standby synchronous (standby_synchronous: true).'))
    return out


def _c_contacts(p, t):
    if p['contacts']:
        return []
    return [_f('contacts', 'warning', 'Nobody to call is named', p['name'], 'no pgops_dr_contacts',
               'an on-call person, a DBA and the service owner',
               'Set pgops_dr_contacts in the inventory (role, name, phone, email).')]


def _c_backup_location(p, t):
    repo = p['repository']
    if not repo.get('host') and not repo.get('type'):
        return [_f('backup_location', 'critical', 'The cluster has no backup repository', p['name'], 'none',
                   'a pgBackRest repository off the database hosts', 'pgops_backup_enabled with pgbackrest_repo_host '
                   '(docs/runbooks/backup.md).')]
    if repo.get('type') in (None, 'posix') and (not repo.get('host') or repo['host'] in [h['name'] for h in p['hosts']]):
        return [_f('backup_location', 'warning', 'The backups live on a database host', p['name'],
                   'repository on %s' % (repo.get('host') or 'each database host'), 'a repository host or object storage',
                   'A lost host takes its backups with it: set pgbackrest_repo_host (or an S3/GCS/Azure repository).')]
    return []


def _c_standby_elsewhere(p, t):
    if p['scenarios']['site_lost']['ready'] and len(set(h.get('site') or 'default' for h in p['hosts'])) > 1:
        return []
    if p['scenarios']['site_lost']['ready']:
        return [_f('standby_elsewhere', 'info', 'Only the backups survive a lost site', p['name'],
                   'every node in site %s' % p['primary_site'], 'a standby in another site',
                   'A standby in another site (pgops_site) turns hours of restore into a failover.')]
    return [_f('standby_elsewhere', 'critical', 'Nothing survives a lost site', p['name'],
               'every node and the backups in site %s' % p['primary_site'], 'a standby or the repository elsewhere',
               'Put the repository (pgbackrest_repo_host with pgops_site) or a standby in another site.')]


THRESHOLDS = (Threshold('rehearsal_max_age_days', 92, 'int', 'a scenario not rehearsed for longer is a warning'),)


def _check(name, evaluate, title):
    return Check('dr.' + name, 'cluster', evaluate, name=name, title=title, facts=('plan',), runbook=RUNBOOK,
                 cadence=('quarterly',), thresholds=THRESHOLDS if name == 'rehearsed' else ())


CHECKS = [
    _check('rehearsed', _c_rehearsed, 'Every DR scenario was rehearsed recently'),
    _check('objectives', _c_objectives, 'Recovery objectives are set and the last measures meet them'),
    _check('contacts', _c_contacts, 'The people to call are named'),
    _check('backup_location', _c_backup_location, 'The backups live off the database hosts'),
    _check('standby_elsewhere', _c_standby_elsewhere, 'A lost site is survivable'),
]
REGISTRY = Registry('dr', CHECKS)
