# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Running commands: as another user, recorded for the ``commands`` a module returns.

Commands are argument lists, never shell strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import pwd

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError


def as_user(argv, user):
    """``argv`` run as ``user`` when we are root (runuser), as it is otherwise."""
    if os.geteuid() == 0 and user and user != 'root':
        return ['runuser', '-u', user, '--'] + list(argv)
    return list(argv)


def owner_of(path, default='postgres'):
    """The name of the user owning ``path`` (the server's user for a data directory)."""
    try:
        return pwd.getpwuid(os.stat(path).st_uid).pw_name
    except (OSError, KeyError):
        return default


class Recorder(object):
    """A command runner that keeps every argument list it ran, in order.

    ``run_command`` is ``module.run_command``; ``user`` (optional) runs every command as that user.
    """

    def __init__(self, run_command, user=None):
        self.run_command = run_command
        self.user = user
        self.commands = []

    def __call__(self, argv, user=None, **kwargs):
        argv = as_user(argv, user or self.user)
        self.commands.append(argv)
        return self.run_command(argv, **kwargs)


@contextlib.contextmanager
def effective_user(user):
    """Run the block with ``user``'s effective user and group ids (as root; nothing otherwise).

    A unix-socket connection opened inside carries that user's credentials for its whole life:
    pgbouncer lets the operating system user it runs as into its console as ``pgbouncer`` without
    a password. Only connections are opened inside; files are written as root outside.
    """
    if not user or os.geteuid() != 0:
        yield
        return
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise ParameterError('os_user', 'no operating system user %s here' % user,
                             'name the user the server or pooler runs as (postgres)')
    os.setegid(pw.pw_gid)
    os.seteuid(pw.pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
