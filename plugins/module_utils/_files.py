# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Managed files: read as text, replace atomically with owner, group and mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text


def read_text(path):
    """The file's text, or None when it does not exist or can not be read."""
    try:
        with open(path, 'rb') as fh:
            return to_text(fh.read())
    except (IOError, OSError):
        return None


def read_bytes(path):
    """The file's bytes, or None when it does not exist or can not be read."""
    try:
        with open(path, 'rb') as fh:
            return fh.read()
    except (IOError, OSError):
        return None


def write_atomic(module, path, content, owner=None, group=None, mode=None):
    """Replace ``path`` with ``content`` (text or bytes) in one rename.

    The new file is written beside the target and gets its owner, group and mode before the
    rename, so no reader ever sees it with other permissions. Unset owner, group and mode keep
    those of the file replaced (a new file: the running user and 0644 less the umask).
    """
    directory = os.path.dirname(path) or '.'
    try:
        st = os.stat(path)
        keep = dict(mode=st.st_mode & 0o7777, owner=st.st_uid, group=st.st_gid)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        keep = dict(mode=0o644 & ~umask, owner=None, group=None)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.pgops-')
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(to_bytes(content))
        if keep['owner'] is not None and os.geteuid() == 0 and (owner is None or group is None):
            os.chown(tmp, keep['owner'] if owner is None else -1, keep['group'] if group is None else -1)
        args = module.load_file_common_arguments(dict(path=tmp, owner=owner, group=group,
                                                      mode=keep['mode'] if mode is None else mode))
        module.set_fs_attributes_if_different(args, False)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def put_back(module, path, old, owner=None, group=None, mode=None):
    """Return ``path`` to what ``read_text`` (or a read of its bytes) gave before a change: its
    previous content, or no file when there was none."""
    if old is None:
        if os.path.lexists(path):
            os.unlink(path)
    else:
        write_atomic(module, path, old, owner, group, mode)


def remove(path):
    """Remove a file, a link or a whole directory tree (not what a link points to)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
