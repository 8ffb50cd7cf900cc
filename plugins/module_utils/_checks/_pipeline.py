# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The one checking pipeline every checking module runs.

validate (thresholds, check names, waivers; before connecting) -> connect read-only ->
privilege probe (one message) -> collect (bounded statements, at most one per database) ->
evaluate -> one ``ok`` finding per clean check -> waivers -> sort -> summary, with the
``queries``, ``round_trips`` and ``duration_ms`` every checking module returns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import CADENCES
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._sql_common import PROBE
from ansible_collections.pgops.postgresql.plugins.module_utils._connection import (
    ACCEPTING_DATABASES, connect, per_database, require_psycopg2, select_databases)
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, parse_waivers, sort_findings, summarize)


def selection_argument_spec(cadence=True):
    """The options every checking module takes to choose its checks: checks, skip_checks, thresholds
    and (for modules whose registry spans cadences) cadence."""
    spec = dict(checks=dict(type='list', elements='str', default=[]),
                skip_checks=dict(type='list', elements='str', default=[]),
                thresholds=dict(type='dict', default={}))
    if cadence:
        spec['cadence'] = dict(type='str', choices=list(CADENCES))
    return spec


def privilege_error(login_user, what, superuser_gives=None):
    """The one message for a login role that lacks pg_monitor."""
    return PgopsError("login_user %s can not read the %s. Fix: GRANT pg_monitor TO %s (or log in as a superuser%s)"
                      % (login_user, what, login_user, ' to %s' % superuser_gives if superuser_gives else ''))


class Pipeline(object):
    """One run of a checking module over one server (or one repository).

    Construct it first: it validates every option the registry knows (thresholds, check
    names, cadence, waivers) before anything connects.
    """

    def __init__(self, registry, params, application_name, statement_timeout_ms=None, lock_timeout_ms=None):
        self.started = time.time()
        self.registry = registry
        self.params = params
        self.queries = []
        self.thresholds = registry.validate_thresholds(params.get('thresholds')) if registry.thresholds else {}
        self.selected = registry.select(params.get('checks'), params.get('skip_checks'), params.get('cadence'))
        self.waivers = parse_waivers(params.get('waivers'), known_ids=registry.ids)
        self.opts = dict(readonly=True, application_name=application_name, statement_timeout_ms=statement_timeout_ms,
                         lock_timeout_ms=lock_timeout_ms, queries=self.queries)

    def needs(self, fact):
        return self.registry.needs(self.selected, fact)

    def connect(self, dbname=None):
        require_psycopg2()
        return connect(self.params, dbname=dbname, **self.opts)

    def probe(self, session, what, allowed=('can_monitor',), superuser_gives=None):
        """The login role's privileges; refused unless one of ``allowed`` holds."""
        priv = session.fetch_one(PROBE, {})
        if not any(priv[k] for k in allowed):
            raise privilege_error(priv['login_user'], what, superuser_gives)
        return priv

    def databases(self, session, wanted=None, excluded=None, available=None):
        """The databases to visit: accepting connections (read once unless given), ``wanted`` less ``excluded``."""
        if available is None:
            available = [r['datname'] for r in session.fetch_all(ACCEPTING_DATABASES, {})]
        return select_databases(available, wanted, excluded)

    def per_database(self, session, names, collect):
        """``collect(session)`` once in each database: one statement budget per database."""
        return per_database(self.params, session, names, collect, **self.opts)

    def finish(self, findings, checked=None, **extra):
        """Ok findings for the clean checks that ran (``checked``, default: the selected ones), waivers,
        order, summary and the SQL record."""
        checked = self.selected if checked is None else checked
        findings = sort_findings(apply_waivers(self.registry.with_ok(findings, checked), self.waivers))
        result = dict(changed=False, findings=findings, summary=summarize(findings), queries=self.queries,
                      round_trips=len(self.queries), duration_ms=int((time.time() - self.started) * 1000))
        result.update(extra)
        return result


def run_module(module, run):
    """``module.exit_json(**run(module.params))``; a PgopsError becomes one ``fail_json``."""
    try:
        result = run(module.params)
    except PgopsError as exc:
        module.fail_json(msg=exc.msg)
    module.exit_json(**result)
