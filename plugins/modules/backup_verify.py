#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: backup_verify
short_description: Verify pgBackRest backups of a stanza and report findings
version_added: 0.1.0
description:
  - Reads C(pgbackrest info --output=json) and reports a stanza without backups, the newest full,
    differential or incremental backup older than its limit, backups flagged with errors, and fast
    repository growth.
  - Runs C(pgbackrest check) (archiving works end to end) and C(pgbackrest verify) and turns their
    output into findings naming the damaged backup file or the missing WAL segments. pgBackRest 2.45
    C(verify) exits 0 even when it finds an invalid checksum, so its output is parsed; its exit
    code is never trusted alone.
  - Reads C(pg_stat_archiver) for archive-push failures (read-only towards the database).
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.connection
  - pgops.postgresql.findings
options:
  stanza:
    description: The pgBackRest stanza.
    type: str
    required: true
  config:
    description: pgBackRest configuration file; default is pgBackRest's own (C(/etc/pgbackrest/pgbackrest.conf)).
    type: path
  run_as:
    description: OS user that runs pgbackrest when the module runs as root (the repository owner).
    type: str
    default: postgres
  run_check:
    description: Run C(pgbackrest check); it forces a WAL switch on the server, so it is not read-only towards the archive.
    type: bool
    default: true
  run_verify:
    description: Run C(pgbackrest verify) over the whole repository of the stanza.
    type: bool
    default: true
  read_archiver:
    description: Read C(pg_stat_archiver) with the login options.
    type: bool
    default: true
  thresholds:
    description:
      - "Limits: full_max_age_hours (192), diff_max_age_hours (0, off), incr_max_age_hours (0, off),
        latest_max_age_hours (36), repo_growth_warning_pct (50). 0 turns a check off."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Runs the same read commands; with O(run_check) the check is skipped in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: pgops.postgresql.health_check
'''

EXAMPLES = r'''
- name: Verify the backups of the main stanza
  pgops.postgresql.backup_verify:
    stanza: main
    login_unix_socket: /var/run/postgresql
    thresholds:
      full_max_age_hours: 192
      diff_max_age_hours: 30
  register: backups
'''

RETURN = r'''
findings:
  description: Findings (backup.* ids), worst first.
  returned: always
  type: list
  elements: dict
summary:
  description: Unwaived findings per severity, waived count, worst severity.
  returned: always
  type: dict
backups:
  description: The stanza's backups (label, type, start and stop time, size, repository size, error).
  returned: always
  type: list
  elements: dict
commands:
  description: The pgbackrest commands run, as lists.
  returned: always
  type: list
  elements: list
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _validate
from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbackrest as pgbr
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import backup
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import Pipeline
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import connection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ConnectionFailed, PgopsError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding, waiver_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._process import Recorder

ARCHIVER = """
SELECT last_failed_wal, last_failed_time::text AS last_failed_time,
       coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing
  FROM pg_stat_archiver
"""


def main():
    spec = connection_argument_spec()
    spec.update(waiver_argument_spec())
    spec.update(
        stanza=dict(type='str', required=True),
        config=dict(type='path'),
        run_as=dict(type='str', default='postgres'),
        run_check=dict(type='bool', default=True),
        run_verify=dict(type='bool', default=True),
        read_archiver=dict(type='bool', default=True),
        thresholds=dict(type='dict', default={}),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    recorder = Recorder(module.run_command, p['run_as'])

    def run(command, options=None):
        return recorder(pgbr.argv(command, p['stanza'], p['config'], options))

    try:
        _validate.name(p['stanza'], 'stanza', 'stanza name')
        _validate.user_exists(p['run_as'], 'run_as')
        pipeline = Pipeline(backup.REGISTRY, p, 'pgops_backup_verify')
        if p['config'] and not os.path.exists(p['config']):
            raise PgopsError("parameter 'config': %s does not exist. Fix: point it at the pgBackRest configuration "
                             "(the pgbackrest role writes /etc/pgbackrest/pgbackrest.conf)" % p['config'])
        rc, out, err = run('info', {'output': 'json'})
        if rc != 0:
            raise ToolError("pgbackrest info failed (exit %d): %s. Fix: check the configuration, the repository "
                            "path and repo1-cipher-pass" % (
                                rc, (err or out).strip().splitlines()[-1] if (err or out).strip() else 'no output'))
        stanzas = [s for s in pgbr.parse_info(out) if s.get('name') == p['stanza']]
        if not stanzas or (stanzas[0].get('status') or {}).get('code') == 1:
            raise PgopsError("parameter 'stanza': '%s' is not in the repository (%s). Fix: check the stanza name, or "
                             "run pgbackrest --stanza=%s stanza-create" % (
                                 p['stanza'], ((stanzas or [{}])[0].get('status') or {}).get('message', 'not found'),
                                 p['stanza']))
        stanza = stanzas[0]
        check = None
        if p['run_check'] and not module.check_mode:
            rc, out, err = run('check')
            check = {'rc': rc, 'message': ((err or out).strip().splitlines() or ['ok'])[-1]}
        verify = None
        if p['run_verify']:
            rc, out, err = run('verify', {'log-level-console': 'detail'})
            verify = pgbr.parse_verify(out + err)
        archiver = None
        findings_extra = []
        if p['read_archiver']:
            try:
                session = pipeline.connect()
                try:
                    archiver = session.fetch_one(ARCHIVER, {})
                finally:
                    session.close()
            except ConnectionFailed as exc:
                findings_extra.append(finding('backup.archive_push', 'info', 'Archiver not assessed',
                                              observed=exc.msg, expected='pg_stat_archiver read',
                                              remediation='Give login options that reach the server.'))
        findings = backup.evaluate(stanza, time.time(), pipeline.thresholds, check, verify, archiver) + findings_extra
    except PgopsError as exc:
        module.fail_json(msg=exc.msg, commands=recorder.commands)
    backups = [dict(label=b['label'], type=b['type'], start=b['timestamp']['start'], stop=b['timestamp']['stop'],
                    size=b['info']['size'], repository_size=b['info']['repository']['size'], error=b.get('error'))
               for b in stanza.get('backup') or []]
    module.exit_json(**pipeline.finish(findings, backups=backups, commands=recorder.commands, verify=verify))


if __name__ == '__main__':
    main()
