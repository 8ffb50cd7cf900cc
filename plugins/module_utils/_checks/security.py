# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Security audit: a checklist with stable ids, grouped like the CIS PostgreSQL benchmark.

The checks are records, one per row of the section files: ``security_host`` (1 installation,
2 file permissions), ``security_logging`` (3 logging and auditing), ``security_access`` (4 access,
5 connection and login) and ``security_tls`` (6 settings and TLS, 7 replication). Facts come from
``_security_facts.collect``. ``evaluate`` is pure: facts in, one finding per problem (or one ok /
"not assessed" finding per check) out. Ids are our own and never change meaning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._checks import (
    security_access, security_host, security_logging, security_tls)
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._registry import Check, Registry
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._security_facts import NOT_ASSESSED
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

RUNBOOK = 'security-audit.md#the-checks'


def _evaluator(section_problems, cid, section, title, remediation, rationale):
    """The findings of one check from its section's problems."""
    def evaluate(facts, thresholds=None):
        result = section_problems(facts)[cid]
        if isinstance(result, tuple) and result[0] is NOT_ASSESSED:
            found = [finding(cid, 'info', 'Not assessed: ' + title, observed=result[1], expected='assessed',
                             remediation='Run the audit as a superuser on the database host to assess this check.')]
            found[0]['assessed'] = False
        else:
            found = [finding(cid, severity, title, obj=str(obj), observed=observed, expected=title,
                             remediation=remediation) for severity, obj, observed in result]
        for f in found:
            f['section'] = section
            f['rationale'] = rationale
        return found
    return evaluate


def _records(module):
    return [Check(cid, 'server', _evaluator(module.problems, cid, section, title, remediation, rationale),
                  title=title, section=section, rationale=rationale, remediation=remediation,
                  cadence=('quarterly',), runbook=RUNBOOK, facts=('settings',))
            for cid, section, title, rationale, remediation in module.TABLE]


REGISTRY = Registry('security', _records(security_host) + _records(security_logging) + _records(security_access)
                    + _records(security_tls))


def evaluate(facts):
    """One finding per problem, or one ok / not-assessed finding per check; each with its section."""
    out = []
    for check in REGISTRY.checks:
        found = check.evaluate(facts)
        if not found:
            f = check.ok()
            f['rationale'] = check.rationale
            found = [f]
        out.extend(found)
    return out
