# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The Finding model, waivers and summaries shared by every checking module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

SEVERITIES = ('ok', 'info', 'warning', 'critical')
_RANK = dict((s, i) for i, s in enumerate(SEVERITIES))


def rank(severity):
    return _RANK[severity]


def finding(check_id, severity, title, obj='server', observed=None, expected=None, remediation=''):
    """A finding as the plain dict every module returns (stable keys)."""
    if severity not in _RANK:
        raise ValueError("unknown severity %r" % (severity,))
    return {
        'id': check_id,
        'severity': severity,
        'title': title,
        'object': obj,
        'observed': observed,
        'expected': expected,
        'remediation': remediation,
        'waived': False,
    }


def _parse_date(value, param):
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.datetime.strptime(str(value), '%Y-%m-%d').date()
    except ValueError:
        raise ParameterError(param, "expires %r is not a date" % (value,),
                             "write the expiry as YYYY-MM-DD")


# Findings that say a check could not run at all: no waiver, exact or pattern, ever hides them
# (a waiver ``id: "*"`` must not turn a down server into ``worst: ok``).
NOT_WAIVABLE = ('health.server_up', 'report.no_result')


def parse_waivers(raw, param='waivers', known_ids=None):
    """Validate the ``waivers`` option: a list of id/object/reason/expires dicts.

    With ``known_ids``, an id (or pattern) that matches none of the module's checks is refused.
    """
    waivers = []
    for index, item in enumerate(raw or []):
        where = '%s[%d]' % (param, index)
        if not isinstance(item, dict):
            raise ParameterError(where, "a waiver must be a dict", "give id, reason and expires")
        unknown = sorted(set(item) - set(('id', 'object', 'reason', 'expires')))
        if unknown:
            raise ParameterError(where, "unknown keys %s" % ', '.join(unknown),
                                 "use only id, object, reason and expires")
        for key in ('id', 'reason', 'expires'):
            if not item.get(key):
                raise ParameterError(where, "'%s' is missing" % key,
                                     "every waiver needs id, reason and expires (YYYY-MM-DD)")
        if str(item['id']) in NOT_WAIVABLE:
            raise ParameterError(where + '.id', "%s can not be waived: it says the check could not run" % item['id'],
                                 'bring the server back, or leave the host out of the inventory')
        if known_ids is not None and not fnmatch.filter(list(known_ids), str(item['id'])):
            raise ParameterError(where + '.id', "'%s' matches no check of this module" % item['id'],
                                 'use one of %s' % ', '.join(sorted(known_ids)))
        waivers.append({
            'id': str(item['id']),
            'object': str(item.get('object') or '*'),
            'reason': str(item['reason']),
            'expires': _parse_date(item['expires'], where).isoformat(),
        })
    return waivers


def apply_waivers(findings, waivers, today=None):
    """Mark findings waived by a current waiver; report expired waivers that still match.

    Returns a new list; ``ok`` findings are never waived. An expired waiver stops
    waiving and adds one ``info`` finding so it is renewed or removed.
    """
    today = today or datetime.date.today()
    out = []
    expired_hits = {}
    for f in findings:
        f = dict(f)
        if f['severity'] != 'ok' and f['id'] not in NOT_WAIVABLE:
            for w in waivers:
                if not (fnmatch.fnmatchcase(f['id'], w['id'])
                        and fnmatch.fnmatchcase(str(f['object']), w['object'])):
                    continue
                if w['expires'] >= today.isoformat():
                    f['waived'] = True
                    f['waiver'] = dict(w)
                    break
                expired_hits[(w['id'], w['object'])] = w
        out.append(f)
    for w in expired_hits.values():
        out.append(finding(
            'waiver.expired', 'info', 'A waiver has expired and no longer applies',
            obj='%s %s' % (w['id'], w['object']), observed='expired %s' % w['expires'],
            expected='a current waiver or a fixed finding',
            remediation='Fix the finding, or renew the waiver with a new expiry and reason (%s).' % w['reason']))
    return out


def summarize(findings):
    """Count per severity (unwaived), the waived count, and the worst unwaived severity."""
    summary = dict((s, 0) for s in SEVERITIES)
    summary['waived'] = 0
    worst = 'ok'
    for f in findings:
        if f.get('waived'):
            summary['waived'] += 1
            continue
        summary[f['severity']] += 1
        if rank(f['severity']) > rank(worst):
            worst = f['severity']
    summary['worst'] = worst
    return summary


def failing(findings, threshold):
    """Unwaived findings at or above ``threshold`` severity."""
    limit = rank(threshold)
    return [f for f in findings if not f.get('waived') and rank(f['severity']) >= limit]


def sort_findings(findings):
    """Worst first, then by id and object: the order of every report."""
    return sorted(findings, key=lambda f: (-rank(f['severity']), f['id'], str(f['object'])))


def waiver_argument_spec():
    """The ``waivers`` option (documented in the pgops.postgresql.findings fragment)."""
    return dict(waivers=dict(type='list', elements='dict', default=[], options=dict(
        id=dict(type='str', required=True),
        object=dict(type='str', default='*'),
        reason=dict(type='str', required=True),
        expires=dict(type='str', required=True),
    )))
