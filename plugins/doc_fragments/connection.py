# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host name or address of the server.
      - A value starting with C(/) is a unix socket directory.
      - Empty means the libpq default (the local unix socket).
      - Falls back to the E(PGHOST) environment variable.
    type: str
    default: ''
  login_port:
    description:
      - Port of the server (also the port of the unix socket).
      - Falls back to E(PGPORT).
    type: int
    default: 5432
  login_user:
    description:
      - Role to log in as. Falls back to E(PGUSER).
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user). Never logged. Falls back to E(PGPASSWORD).
      - Empty uses peer or certificate authentication, or a C(.pgpass) file.
    type: str
    default: ''
  login_db:
    description:
      - Database to connect to first. Falls back to E(PGDATABASE).
    type: str
    default: postgres
  login_unix_socket:
    description:
      - Directory of the server's unix socket; takes precedence over O(login_host).
    type: str
    default: ''
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection. Falls back to E(PGSSLMODE).
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate file used to verify the server (C(sslrootcert)).
      - Falls back to E(PGSSLROOTCERT).
    type: path
  ssl_cert:
    description:
      - Client certificate file (C(sslcert)). Falls back to E(PGSSLCERT).
    type: path
  ssl_key:
    description:
      - Key of the client certificate (C(sslkey)). Falls back to E(PGSSLKEY).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection. Falls back to E(PGCONNECT_TIMEOUT).
    type: int
    default: 10
requirements:
  - psycopg2 (C(python3-psycopg2) on Debian, or C(psycopg2-binary)) on the managed host
'''
