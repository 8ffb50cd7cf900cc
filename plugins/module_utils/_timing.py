# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Timed steps and bounded waits, for actions that report how long each step took."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import PgopsError, ToolError


class Steps(object):
    """Runs named steps and keeps how long each took (also when it failed)."""

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
