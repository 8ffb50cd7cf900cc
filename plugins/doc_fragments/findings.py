# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  waivers:
    description:
      - Accepted findings. A waived finding stays in the output with C(waived=true) and its
        waiver, and does not count in the summary or fail a playbook.
      - An expired waiver stops waiving and adds an C(info) finding C(waiver.expired).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Finding id, or a shell-style pattern such as C(health.table_*).
        type: str
        required: true
      object:
        description: Shell-style pattern matched against the finding's object.
        type: str
        default: '*'
      reason:
        description: Why the finding is accepted (a change or ticket reference helps auditors).
        type: str
        required: true
      expires:
        description: Last day the waiver applies, as YYYY-MM-DD.
        type: str
        required: true
'''
