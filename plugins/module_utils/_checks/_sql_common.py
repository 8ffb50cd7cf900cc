# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Statements every checking module runs the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What the login role may read: the first statement of every checking module.
PROBE = """
SELECT current_user AS login_user,
       current_setting('server_version_num')::int AS version_num,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS can_monitor,
       has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS can_read_authid,
       (SELECT rolname FROM pg_roles WHERE oid = 10) AS bootstrap_superuser
"""
