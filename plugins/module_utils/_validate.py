# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Checks of option values that every module shares, run before anything changes.

Each raises ParameterError naming the option and the fix. They cover what Ansible's own type
checks do not: ranges, one-line values (no newline, quote or control character may reach a file
or a command line), absolute paths, existing users and groups, file modes, names of the tools.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import re

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError

_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
_OCTAL_MODE = re.compile(r'^0?[0-7]{3,4}$')
_SYMBOLIC_MODE = re.compile(r'^([ugoa]*[-+=]([rwxXst]*|[ugo]))(,[ugoa]*[-+=]([rwxXst]*|[ugo]))*$')
# pgBackRest stanza names and Debian cluster names: letters, digits, and . _ -
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


def at_least(p, name, minimum=1):
    """An integer option that must be ``minimum`` or more (when given)."""
    value = p.get(name)
    if value is not None and value < minimum:
        raise ParameterError(name, 'is %s, less than %d' % (value, minimum), 'give %d or more' % minimum)


def one_line(value, param, empty=False):
    """A text that goes into a file, a conninfo or a command line: no newline or control character."""
    if value is None:
        return
    text = str(value)
    if not text and not empty:
        raise ParameterError(param, 'is empty', 'give a value')
    if _CONTROL.search(text):
        raise ParameterError(param, 'contains a newline or control character (%r)' % text,
                             'give a value on one line, without control characters')


def absolute_path(value, param):
    if value and not os.path.isabs(value):
        raise ParameterError(param, '%s is a relative path' % value, 'give an absolute path')


def _exists(lookup, value, param, what):
    if value:
        try:
            lookup(value)
        except KeyError:
            raise ParameterError(param, 'there is no %s %r on this host' % (what, value),
                                 'create the %s first, or name an existing one' % what)


def ownership(owner=None, group=None, mode=None, prefix=''):
    """Owner and group that exist on this host, and a mode Ansible can apply."""
    _exists(pwd.getpwnam, owner, prefix + 'owner', 'user')
    _exists(grp.getgrnam, group, prefix + 'group', 'group')
    if mode is not None and not isinstance(mode, int):
        text = str(mode)
        if not (_OCTAL_MODE.match(text) or _SYMBOLIC_MODE.match(text)):
            raise ParameterError(prefix + 'mode', '%r is not a file mode' % text,
                                 "give it in octal, quoted (\"0640\"), or symbolic (u=rw,g=r)")


def user_exists(value, param):
    _exists(pwd.getpwnam, value, param, 'user')


def name(value, param, what='name'):
    """A stanza or cluster name: letters, digits, '.', '_' and '-' (no option, path or space)."""
    if value is not None and not _NAME.match(str(value)):
        raise ParameterError(param, '%r is not a valid %s' % (value, what),
                             'use letters, digits, ".", "_" and "-", starting with a letter or digit')
