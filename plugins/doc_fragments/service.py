# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  version:
    description:
      - Major version of the cluster (Debian layout), used to restart or reload it.
    type: str
  cluster_name:
    description:
      - Name of the cluster (Debian layout).
    type: str
  data_dir:
    description:
      - Data directory, for clusters controlled with C(pg_ctl).
    type: path
  bin_dir:
    description:
      - Directory of C(pg_ctl) and the other server binaries.
      - Defaults to C(/usr/lib/postgresql/MAJOR/bin), MAJOR being O(version) or, when it is not
        given, the C(PG_VERSION) file of O(data_dir). No major version is assumed.
    type: path
  service_manager:
    description:
      - How to restart the cluster. V(auto) uses the systemd unit when systemd runs, Debian's
        C(pg_ctlcluster --skip-systemctl-redirect) for a Debian cluster otherwise, else C(pg_ctl).
    type: str
    choices: [auto, systemd, pg_ctlcluster, pg_ctl]
    default: auto
'''
