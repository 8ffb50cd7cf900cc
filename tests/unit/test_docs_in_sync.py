# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation that is generated or promised must exist and be current."""

import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_role_readmes_match_argument_specs():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'tools', 'role_readme.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_argument_specs_and_defaults_agree():
    for role in os.listdir(os.path.join(ROOT, 'roles')):
        base = os.path.join(ROOT, 'roles', role)
        with open(os.path.join(base, 'defaults', 'main.yml')) as fh:
            defaults = yaml.safe_load(fh) or {}
        with open(os.path.join(base, 'meta', 'argument_specs.yml')) as fh:
            options = yaml.safe_load(fh)['argument_specs']['main']['options']
        assert sorted(defaults) == sorted(options), role
        for name, value in defaults.items():
            assert options[name].get('default') == value, (role, name)


def test_every_playbook_is_in_the_maintenance_calendar():
    calendar = open(os.path.join(ROOT, 'docs', 'maintenance-calendar.md')).read()
    for name in sorted(n for n in os.listdir(os.path.join(ROOT, 'playbooks')) if n.endswith('.yml')):
        assert 'playbooks/%s' % name in calendar, name


def test_every_health_check_has_a_runbook_entry():
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import health
    runbook = open(os.path.join(ROOT, 'docs', 'runbooks', 'daily-health-check.md')).read()
    for check in health.CHECKS:
        assert '`health.%s`' % check in runbook, check


def test_every_audit_check_is_in_its_runbook():
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import roles, security
    sec = open(os.path.join(ROOT, 'docs', 'runbooks', 'security-audit.md')).read()
    acc = open(os.path.join(ROOT, 'docs', 'runbooks', 'access-review.md')).read()
    for check in security.CHECK_IDS:
        assert '`%s`' % check in sec, check
    for check in roles.CHECKS:
        assert '`%s`' % check in acc, check
