# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""A check is one record; an area (health, roles, security, backup) is a registry of records.

A ``Check`` names its id, scope, the facts it needs, its thresholds (typed, with defaults and
an ordering rule), its evaluator, the title of its ``ok`` finding, its cadence (which cadence
playbooks run it by default) and its runbook anchor. Everything else is derived from the
records: the list of known names, threshold validation, which facts to collect, the ``ok``
findings of clean checks, the ids a waiver may name. Module documentation and runbooks are
tested against them (tests/unit/test_docs_in_sync.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import finding

SCOPES = ('server', 'database', 'object', 'host', 'repository', 'cluster')
CADENCES = ('daily', 'weekly', 'monthly', 'quarterly')
KINDS = {'int': 'whole number', 'num': 'number', 'pct': 'percentage'}


class Threshold(object):
    """One tunable limit. ``kind``: 'int' whole number >= 0, 'num' number >= 0, 'pct' 0..100.

    ``at_most``: the name of a threshold this one may not exceed (a warning level below its
    critical level); ``at_least``: one it may not fall below (free space: warning above critical).
    """

    __slots__ = ('name', 'default', 'kind', 'doc', 'at_most', 'at_least')

    def __init__(self, name, default, kind, doc='', at_most=None, at_least=None):
        if kind not in KINDS:
            raise ValueError('unknown threshold kind %r' % (kind,))
        self.name = name
        self.default = default
        self.kind = kind
        self.doc = doc
        self.at_most = at_most
        self.at_least = at_least

    def parse(self, value, param):
        try:
            if isinstance(value, bool):
                raise ValueError()
            number = int(value) if self.kind == 'int' else float(value)
            if self.kind == 'int' and float(value) != number:
                raise ValueError()
        except (TypeError, ValueError):
            raise ParameterError(param, "%r is not a %s" % (value, 'whole number' if self.kind == 'int' else 'number'),
                                 "give a number such as %s" % self.default)
        if number < 0 or (self.kind == 'pct' and number > 100):
            raise ParameterError(param, "%r is out of range" % (value,),
                                 "give a value from 0%s" % (' to 100' if self.kind == 'pct' else ' up'))
        return number


class Check(object):
    """One check. ``evaluate(facts, thresholds) -> [finding]``: pure, no I/O."""

    __slots__ = ('id', 'name', 'scope', 'facts', 'thresholds', 'evaluate', 'title', 'cadence', 'runbook',
                 'section', 'rationale', 'remediation')

    def __init__(self, id, scope, evaluate=None, title=None, facts=(), thresholds=(), cadence=('daily',),
                 runbook=None, name=None, section=None, rationale=None, remediation=None):
        if scope not in SCOPES:
            raise ValueError('check %s: unknown scope %r' % (id, scope))
        unknown = set(cadence) - set(CADENCES)
        if unknown:
            raise ValueError('check %s: unknown cadence %s' % (id, ', '.join(sorted(unknown))))
        self.id = id
        self.name = name or id
        self.scope = scope
        self.facts = tuple(facts)
        self.thresholds = tuple(thresholds)
        self.evaluate = evaluate
        self.title = title or 'No problem found: %s' % self.name.split('.')[-1].replace('_', ' ')
        self.cadence = tuple(cadence)
        self.runbook = runbook
        self.section = section
        self.rationale = rationale
        self.remediation = remediation

    def ok(self):
        f = finding(self.id, 'ok', self.title)
        if self.section:
            f['section'] = self.section
        return f


class Registry(object):
    """The checks of one area, in report order."""

    def __init__(self, area, checks, shared_thresholds=()):
        self.area = area
        self.checks = list(checks)
        self._by_name = {}
        self._by_id = {}
        for c in self.checks:
            if c.name in self._by_name or c.id in self._by_id:
                raise ValueError('%s: check %s is registered twice' % (area, c.id))
            self._by_name[c.name] = c
            self._by_id[c.id] = c
        self.thresholds = {}
        for t in list(shared_thresholds) + [t for c in self.checks for t in c.thresholds]:
            if t.name in self.thresholds and self.thresholds[t.name] is not t:
                raise ValueError('%s: threshold %s is declared twice' % (area, t.name))
            self.thresholds[t.name] = t
        for t in self.thresholds.values():
            for other in (t.at_most, t.at_least):
                if other and other not in self.thresholds:
                    raise ValueError('%s: threshold %s names unknown %s' % (area, t.name, other))

    # ------------------------------------------------------------------ lookups
    @property
    def names(self):
        return [c.name for c in self.checks]

    @property
    def ids(self):
        return [c.id for c in self.checks]

    def get(self, name):
        return self._by_name.get(name) or self._by_id[name]

    def for_cadence(self, cadence):
        return [c.name for c in self.checks if cadence in c.cadence]

    def needs(self, names, fact):
        """Whether any of the checks ``names`` needs the fact group ``fact``."""
        return any(fact in self._by_name[n].facts for n in names)

    # ------------------------------------------------------------------ validation
    def defaults(self):
        return dict((name, t.default) for name, t in self.thresholds.items())

    def validate_thresholds(self, raw, param='thresholds'):
        """Defaults overlaid with the user's values; a bad name, value or order raises ParameterError."""
        result = self.defaults()
        if raw is not None and not isinstance(raw, dict):
            raise ParameterError(param, '%r is not a dictionary' % (raw,), 'give name: value pairs')
        for key, value in (raw or {}).items():
            if key not in self.thresholds:
                raise ParameterError(param, "unknown threshold '%s'" % key,
                                     "use one of: %s" % ', '.join(sorted(self.thresholds)))
            result[key] = self.thresholds[key].parse(value, '%s.%s' % (param, key))
        for name in sorted(self.thresholds):
            t = self.thresholds[name]
            if t.at_most and result[name] > result[t.at_most]:
                raise ParameterError('%s.%s' % (param, name), "the warning level %s is above the critical level %s (%s)"
                                     % (result[name], result[t.at_most], t.at_most),
                                     "make the warning level the lower one")
            if t.at_least and result[name] < result[t.at_least]:
                raise ParameterError('%s.%s' % (param, name), "it is below %s" % t.at_least,
                                     "warn at more free space than the critical level")
        return result

    def select(self, checks=None, skip_checks=None, cadence=None):
        """The check names to run, in registry order; unknown names raise ParameterError.

        ``checks`` empty: every check of ``cadence`` (every check when no cadence is given).
        """
        for param, names in (('checks', checks), ('skip_checks', skip_checks)):
            unknown = sorted(set(names or []) - set(self.names))
            if unknown:
                raise ParameterError(param, "unknown check name(s) %s" % ', '.join(unknown),
                                     "use names from: %s" % ', '.join(self.names))
        if cadence is not None and cadence not in CADENCES:
            raise ParameterError('cadence', 'unknown cadence %r' % (cadence,), 'use one of %s' % ', '.join(CADENCES))
        base = checks or (self.for_cadence(cadence) if cadence else self.names)
        wanted = set(base) - set(skip_checks or [])
        return [n for n in self.names if n in wanted]

    # ------------------------------------------------------------------ evaluation
    def with_ok(self, findings, names=None):
        """``findings`` plus one ``ok`` finding for each selected check that has none."""
        present = set(f['id'] for f in findings)
        out = list(findings)
        for name in (self.names if names is None else names):
            check = self._by_name[name]
            if check.id not in present:
                out.append(check.ok())
        return out

    def evaluate(self, facts, thresholds, names=None):
        """Every selected check's evaluator, in registry order, then the ``ok`` findings."""
        out = []
        for name in (self.names if names is None else names):
            check = self._by_name[name]
            if check.evaluate is not None:
                out.extend(check.evaluate(facts, thresholds))
        return self.with_ok(out, names)


def severity(value, warn, crit, higher_is_worse=True):
    """'critical', 'warning' or None for ``value`` against a (warning, critical) pair."""
    if value is None:
        return None
    if higher_is_worse:
        if value >= crit:
            return 'critical'
        if value >= warn:
            return 'warning'
    else:
        if value <= crit:
            return 'critical'
        if value <= warn:
            return 'warning'
    return None
