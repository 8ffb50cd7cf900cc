# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Timed steps and bounded waits, for actions that report how long each step took."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import InjectedFault, PgopsError, ToolError

# Fault injection for the tests: the step named here (its name, or its position counted from 1)
# reports a failure right after it did its work, as a lost connection or a timeout would. The
# module must then put back what it changed. Unset on real hosts; nothing else reads it.
FAULT_VARIABLE = 'PGOPS_FAULT_AT'


class Steps(object):
    """Runs named steps and keeps how long each took (also when it failed).

    Every step of a change goes through ``run``, so the test harness can make each one fail in
    turn (``PGOPS_FAULT_AT``) and prove the module puts back what the earlier steps changed.
    """

    def __init__(self):
        self.done = []

    def run(self, name, fn, *args, **kwargs):
        t0 = time.time()
        ok = False
        try:
            value = fn(*args, **kwargs)
            ok = True
            return value
        finally:
            self.done.append({'step': name, 'seconds': round(time.time() - t0, 3), 'ok': ok})
            if ok:
                self._inject(name)

    def _inject(self, name):
        wanted = os.environ.get(FAULT_VARIABLE)
        if wanted and wanted in (name, str(len(self.done))):
            self.done[-1]['fault'] = 'injected'
            raise InjectedFault('injected fault after the step "%s" (%s=%s)' % (name, FAULT_VARIABLE, wanted))

    def completed(self):
        return [s['step'] for s in self.done if s.get('ok')]


def wait_until(predicate, timeout, what, interval=0.02):
    """Poll ``predicate`` until it returns something true; PgopsError counts as not yet."""
    deadline = time.time() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except PgopsError as exc:
            last_error = exc.msg
        if time.time() >= deadline:
            raise ToolError('%s did not happen within %d s%s. Fix: read the server logs' % (
                what, timeout, ' (last error: %s)' % last_error if last_error else ''))
        time.sleep(interval)
