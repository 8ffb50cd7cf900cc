# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Managed files: read as text, replace atomically with owner, group and mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text


def read_text(path):
    """The file's text, or None when it does not exist or can not be read."""
    try:
        with open(path, 'rb') as fh:
            return to_text(fh.read())
    except (IOError, OSError):
        return None


def write_atomic(module, path, text, owner=None, group=None, mode=None):
    """Write beside the target and rename over it, then set owner, group and mode."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.pgops-')
    with os.fdopen(fd, 'wb') as fh:
        fh.write(to_bytes(text))
    module.atomic_move(tmp, path)
    args = module.load_file_common_arguments(dict(path=path, owner=owner, group=group, mode=mode))
    module.set_fs_attributes_if_different(args, False)
