#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: restore_test
short_description: Restore a pgBackRest backup into a scratch server, validate it, measure its RTO, remove it
version_added: 0.1.0
description:
  - Restores a backup (default the newest) of a stanza into a new scratch directory under
    O(scratch_root) - never a live data directory - with C(--archive-mode=off), so the scratch server
    can never archive into the production stanza. Recovery stops at the end of the backup
    (C(immediate)) or at O(target_time), then the server is promoted.
  - The scratch server listens only on a unix socket in its own directory, on a free port.
  - "Validates it: connects, counts the rows of O(sample_tables) or of every table up to
    O(count_tables_limit) per database (one statement per database), runs amcheck
    C(bt_index_check) over every B-tree index of O(amcheck_databases), and C(pg_dump)s
    O(dump_database) to /dev/null."
  - Records the time of the restore, of the start until the server accepts writes (their sum is the
    measured RTO of this backup), and of the validation; then stops and removes the scratch server,
    also when a step failed. A failure is a critical finding, not a module failure, so a weekly
    report still lists every stanza.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.findings
options:
  stanza:
    description: The pgBackRest stanza.
    type: str
    required: true
  config:
    description: pgBackRest configuration file.
    type: path
  run_as:
    description: OS user that runs pgbackrest and the scratch server.
    type: str
    default: postgres
  version:
    description:
      - Major version of the backed-up cluster, used for the default O(bin_dir).
      - When neither this nor O(bin_dir) is given, the version recorded in the stanza
        (C(pgbackrest info)) is used. No major version is assumed.
    type: str
  bin_dir:
    description: Directory of pg_ctl and pg_dump; defaults to C(/usr/lib/postgresql/VERSION/bin).
    type: path
  set:
    description: Backup label to restore; default the newest.
    type: str
  target_time:
    description: Recover up to this time (with a time zone, for example C(2026-11-24 03:00:00+00)) instead of the end of the backup.
    type: str
  scratch_root:
    description: Directory under which the scratch data directory is created and removed.
    type: path
    default: /var/tmp
  process_max:
    description: Parallel restore processes.
    type: int
    default: 2
  sample_tables:
    description: Tables to count, as C(database.schema.table); empty counts every table up to O(count_tables_limit).
    type: list
    elements: str
    default: []
  count_tables_limit:
    description: Most tables counted per database when O(sample_tables) is empty.
    type: int
    default: 100
  amcheck_databases:
    description: Databases whose B-tree indexes are checked with amcheck.
    type: list
    elements: str
    default: []
  dump_database:
    description: Database dumped with pg_dump to /dev/null (reads every row).
    type: str
  timeout:
    description: Seconds to wait for the scratch server to start and to be promoted.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Returns the commands it would run; restores nothing.
  diff_mode:
    support: none
    description: Nothing on the host changes once the module ends.
seealso:
  - module: pgops.postgresql.backup_verify
'''

EXAMPLES = r'''
- name: Weekly restore test of the main stanza
  pgops.postgresql.restore_test:
    stanza: main
    sample_tables: [shop.public.orders, shop.public.customers]
    amcheck_databases: [shop]
    dump_database: shop
  register: restore
'''

RETURN = r'''
findings:
  description: C(restore_test.result) critical with the failing step, or ok.
  returned: always
  type: list
  elements: dict
timings:
  description: Seconds for restore, start (until writes are accepted), validation, and rto (restore + start).
  returned: when not in check mode
  type: dict
  sample: {restore: 3.2, start: 2.6, validation: 1.1, rto: 5.8}
counts:
  description: Row counts per C(database.schema.table).
  returned: when not in check mode
  type: dict
commands:
  description: Commands run (or planned in check mode), as lists.
  returned: always
  type: list
  elements: list
left_behind:
  description: Whether the scratch directory still exists after cleanup (it should not).
  returned: when not in check mode
  type: bool
steps:
  description: >-
    The steps of the test (prepare, restore, configure, start, wait for the end of recovery,
    validation), each with C(step), C(seconds) and C(ok); a failed test ends with its failed step.
    Whatever step fails, the scratch server is stopped and its directory removed.
  returned: when not in check mode
  type: list
  elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connect, require_psycopg2
from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, finding, parse_waivers, summarize, waiver_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbackrest as pgbr
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import Layout
from ansible_collections.pgops.postgresql.plugins.module_utils._process import Recorder, as_user
from ansible_collections.pgops.postgresql.plugins.module_utils._restore import Scratch
from ansible_collections.pgops.postgresql.plugins.module_utils._sql import compose, identifier
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps, wait_until

COUNT_ALL = """
SELECT n.nspname AS schema, c.relname AS table,
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %%I.%%I', n.nspname, c.relname),
                                             false, true, '')))[1]::text::bigint AS rows
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
 ORDER BY 1, 2 LIMIT %(limit)s
"""

AMCHECK = """
SELECT count(bt_index_check(c.oid)) AS checked
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
 WHERE a.amname = 'btree' AND c.relpersistence <> 't' AND i.indisvalid
"""


def stanza_version(run, p):
    """The major version the stanza's newest database was backed up from (pgbackrest info)."""
    rc, out, err = run(as_user(pgbr.argv('info', p['stanza'], p['config'], {'output': 'json'}), p['run_as']))
    stanzas = [s for s in pgbr.parse_info(out) if s.get('name') == p['stanza']] if rc == 0 else []
    dbs = (stanzas[0].get('db') or []) if stanzas else []
    if not dbs:
        raise ParameterError('version', 'the major version of stanza %s could not be read from pgbackrest info'
                             % p['stanza'], 'give version or bin_dir, and check the stanza name and config')
    return str(dbs[-1]['version'])


def restore_options(p):
    opts = {'process-max': p['process_max'], 'target-action': 'promote'}
    if p['set']:
        opts['set'] = p['set']
    if p['target_time']:
        opts.update({'type': 'time', 'target': p['target_time']})
    else:
        opts['type'] = 'immediate'
    return opts


def login(scratch, dbname='postgres'):
    return dict(login_unix_socket=scratch.socket_dir, login_port=scratch.port, login_user=scratch.user,
                login_db=dbname, ssl_mode='disable', connect_timeout=10)


def promoted(scratch):
    session = connect(login(scratch), application_name='pgops_restore_test')
    try:
        return not session.fetch_one('SELECT pg_is_in_recovery() AS r')['r']
    finally:
        session.close()


def wait_promoted(scratch, timeout):
    try:
        wait_until(lambda: promoted(scratch), timeout, 'promotion', interval=0.2)
    except ToolError:
        raise ToolError('the restored server was not promoted within %d s. Fix: read %s' % (timeout, scratch.log_file))


def check_params(p):
    """Everything about the options that can be wrong, before anything is created."""
    _validate.name(p['stanza'], 'stanza', 'stanza name')
    pgbr.check_set(p['set'])
    if p['target_time']:
        p['target_time'] = pgbr.pg_time(pgbr.parse_target_time(p['target_time'], 'target_time'))
    for opt in ('process_max', 'count_tables_limit', 'timeout'):
        _validate.at_least(p, opt)
    _validate.user_exists(p['run_as'], 'run_as')
    _validate.absolute_path(p['scratch_root'], 'scratch_root')
    _validate.one_line(p['dump_database'], 'dump_database')
    for index, db in enumerate(p['amcheck_databases']):
        _validate.one_line(db, 'amcheck_databases[%d]' % index)
    sample_targets(p)


def sample_targets(p):
    """sample_tables as {database: [(schema, table)]}."""
    by_db = {}
    for index, name in enumerate(p['sample_tables']):
        _validate.one_line(name, 'sample_tables[%d]' % index)
        parts = name.split('.')
        if len(parts) not in (2, 3) or not all(parts):
            raise ParameterError('sample_tables[%d]' % index, '%r is not database.schema.table' % name,
                                 'write it as shop.public.orders (or shop.orders for the public schema)')
        db, schema, table = (parts[0], 'public', parts[1]) if len(parts) == 2 else parts
        by_db.setdefault(db, []).append((schema, table))
    return by_db


def validate(module, scratch, p, run):
    counts = {}
    by_db = sample_targets(p)
    session = connect(login(scratch), application_name='pgops_restore_test')
    try:
        dbs = [r['datname'] for r in session.fetch_all('SELECT datname FROM pg_database WHERE datallowconn AND '
                                                       'NOT datistemplate ORDER BY 1')]
    finally:
        session.close()
    for db in (sorted(by_db) if by_db else dbs):
        if db not in dbs:
            raise ToolError('database %s is not in the restored backup' % db)
        s = connect(login(scratch, db), application_name='pgops_restore_test')
        try:
            s.conn.autocommit = True
            if by_db:
                for schema, table in by_db[db]:
                    row = s.fetch_one(compose('SELECT count(*) AS rows FROM {t}', t=identifier(schema, table)))
                    counts['%s.%s.%s' % (db, schema, table)] = row['rows']
            else:
                for row in s.fetch_all(COUNT_ALL, {'limit': p['count_tables_limit']}):
                    counts['%s.%s.%s' % (db, row['schema'], row['table'])] = row['rows']
        finally:
            s.close()
    checked = {}
    for db in p['amcheck_databases']:
        s = connect(login(scratch, db), application_name='pgops_restore_test')
        try:
            s.conn.autocommit = True
            s.fetch_all('CREATE EXTENSION IF NOT EXISTS amcheck')
            checked[db] = s.fetch_one(AMCHECK)['checked']
        finally:
            s.close()
    if p['dump_database']:
        argv = as_user([os.path.join(scratch.bin_dir, 'pg_dump'), '-h', scratch.socket_dir, '-p', str(scratch.port),
                        '-d', p['dump_database'], '-f', '/dev/null'], scratch.user)
        rc, out, err = run(argv)
        if rc != 0:
            raise ToolError('pg_dump of %s failed: %s' % (p['dump_database'], (err or out).strip()))
    return counts, checked


def _restore(run, argv):
    rc, out, err = run(argv)
    if rc != 0:
        raise ToolError('pgbackrest restore failed (exit %d): %s' % (rc, pgbr.error_text(err or out)))


def timings_of(steps):
    """restore, start (start and the wait for the end of recovery), rto (their sum), validation."""
    seconds = dict((s['step'].split(' ')[0], s['seconds']) for s in steps.done if s['ok'])
    out = {}
    if 'restore' in seconds:
        out['restore'] = seconds['restore']
    if 'wait' in seconds:
        out['start'] = round(seconds['start'] + seconds['wait'], 3)
        out['rto'] = round(out['restore'] + out['start'], 3)
    if 'validation' in seconds:
        out['validation'] = seconds['validation']
    return out


def main():
    spec = waiver_argument_spec()
    spec.update(
        stanza=dict(type='str', required=True), config=dict(type='path'),
        run_as=dict(type='str', default='postgres'), version=dict(type='str'),
        bin_dir=dict(type='path'), set=dict(type='str'), target_time=dict(type='str'),
        scratch_root=dict(type='path', default='/var/tmp'), process_max=dict(type='int', default=2),
        sample_tables=dict(type='list', elements='str', default=[]),
        count_tables_limit=dict(type='int', default=100),
        amcheck_databases=dict(type='list', elements='str', default=[]),
        dump_database=dict(type='str'), timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    run = Recorder(module.run_command)
    try:
        check_params(p)
        waivers = parse_waivers(p['waivers'], known_ids=['restore_test.result'])
        require_psycopg2()
        version = p['version'] or (None if p['bin_dir'] else stanza_version(run, p))
        layout = Layout(version, bin_dir=p['bin_dir'])
        layout.binary('pg_ctl')  # refuses an unknown or missing bin_dir before anything is created
        scratch = Scratch(p['scratch_root'], p['stanza'], run, p['run_as'], layout.bin_dir)
        scratch.check_target()
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    restore_argv = scratch.restore_argv(p['config'], restore_options(p))
    if module.check_mode:
        module.exit_json(changed=False, commands=[restore_argv, scratch.start_argv(p['timeout'])], findings=[],
                         summary=summarize([]), scratch_dir=scratch.data_dir)
    counts, checked, failure = {}, {}, None
    steps = Steps()
    try:
        uid, gid = steps.run('prepare %s' % scratch.base, scratch.prepare)
        steps.run('restore', _restore, run, restore_argv)
        steps.run('configure', scratch.configure, uid, gid)
        steps.run('start', scratch.start, p['timeout'])
        steps.run('wait for the end of recovery', wait_promoted, scratch, p['timeout'])
        counts, checked = steps.run('validation', validate, module, scratch, p, run)
    except (PgopsError, OSError) as exc:
        failure = '%s failed: %s' % (steps.done[-1]['step'] if steps.done else 'prepare', getattr(exc, 'msg', str(exc)))
    finally:
        left_behind = not scratch.cleanup()
    timings = timings_of(steps)
    if failure:
        findings = [finding('restore_test.result', 'critical', 'The restore test failed', obj=p['stanza'],
                            observed=failure, expected='restored, started, validated',
                            remediation='Run backup_verify on the stanza; restore the backup by hand into a '
                                        'scratch directory and read the server log.')]
    else:
        findings = [finding('restore_test.result', 'ok', 'The backup restored, started and validated',
                            obj=p['stanza'], observed='RTO %.1f s' % timings['rto'])]
    findings = apply_waivers(findings, waivers)
    module.exit_json(changed=False, findings=findings, summary=summarize(findings), timings=timings, counts=counts,
                     amcheck=checked, commands=run.commands, left_behind=left_behind, steps=steps.done)


if __name__ == '__main__':
    main()
