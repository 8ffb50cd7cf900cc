# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Exception hierarchy of the collection.

Backends raise these; each module converts them to ``fail_json(msg=...)``
once, in ``main()``. Messages say what went wrong and what to do next.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PgopsError(Exception):
    """Base class: ``str(exc)`` is a one-line message for the user."""

    def __init__(self, msg):
        super(PgopsError, self).__init__(msg)
        self.msg = msg


class ParameterError(PgopsError):
    """A module parameter has a bad value; names the parameter and the fix."""

    def __init__(self, param, problem, fix):
        self.param = param
        super(ParameterError, self).__init__(
            "parameter '%s': %s. Fix: %s" % (param, problem, fix))


class MissingLibraryError(PgopsError):
    """A Python library the module needs is missing on the managed host."""


class ConnectionFailed(PgopsError):
    """The server could not be reached or refused the login."""


class QueryFailed(PgopsError):
    """A statement failed on the server."""


class ServiceError(PgopsError):
    """Starting, stopping or reloading a cluster failed."""


class ToolError(PgopsError):
    """An external tool (pgbackrest, pg_ctl, ...) failed."""


class InjectedFault(PgopsError):
    """A failure the test harness asked for (``PGOPS_FAULT_AT``) after a step that did its work."""
