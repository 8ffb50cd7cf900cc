# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation that is generated or promised must exist and be current."""

import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_role_readmes_match_argument_specs():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'tools', 'role_readme.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_the_troubleshooting_index_lists_every_finding_id():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'tools', 'finding_index.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = open(os.path.join(ROOT, 'docs', 'troubleshooting.md')).read()
    for module, registry in _registries().items():
        for check in registry.checks:
            assert '| `%s` | `%s` |' % (check.id, module) in text, check.id
    # every finding id the symptoms name is a real one
    known = set(c.id for r in _registries().values() for c in r.checks) | {'restore_test.result'}
    named = set(re.findall(r'`((?:health|pool|sec|log|backup|index|perf|capacity|schema|role|amcheck|sla|tuning|'
                           r'restore_test|dr|outside)\.[a-z_.]+)`', text.split('<!-- finding-index:start -->')[0]))
    assert named <= known, named - known


def test_module_check_lists_are_generated_from_the_registries():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'tools', 'module_docs.py'), '--check'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_argument_specs_and_defaults_agree():
    for role in os.listdir(os.path.join(ROOT, 'roles')):
        base = os.path.join(ROOT, 'roles', role)
        with open(os.path.join(base, 'defaults', 'main.yml')) as fh:
            defaults = yaml.safe_load(fh) or {}
        with open(os.path.join(base, 'meta', 'argument_specs.yml')) as fh:
            entries = yaml.safe_load(fh)['argument_specs']
        # every default is documented by an entry point, and every entry point that lists it agrees
        documented = set()
        for entry, spec in entries.items():
            for name, option in spec['options'].items():
                documented.add(name)
                if name in defaults:
                    assert option.get('default') == defaults[name], (role, entry, name)
        assert sorted(defaults) == sorted(documented), role


def test_every_playbook_is_in_the_maintenance_calendar():
    calendar = open(os.path.join(ROOT, 'docs', 'maintenance-calendar.md')).read()
    for name in sorted(n for n in os.listdir(os.path.join(ROOT, 'playbooks')) if n.endswith('.yml')):
        assert 'playbooks/%s' % name in calendar, name


def _registries():
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import (
        backup, capacity, dr, health, indexes, integrity, logs, outside, performance, pools, roles, schema, security, sla, tuning)
    return {'health_check': health.REGISTRY, 'role_audit': roles.REGISTRY, 'security_audit': security.REGISTRY,
            'backup_verify': backup.REGISTRY, 'index_review': indexes.REGISTRY, 'amcheck': integrity.REGISTRY,
            'performance_review': performance.REGISTRY, 'capacity': capacity.REGISTRY,
            'log_review': logs.REGISTRY, 'sla': sla.REGISTRY,
            'pool_check': pools.REGISTRY, 'schema_doc': schema.REGISTRY,
            'schema_site': schema.CHANGE_REGISTRY, 'tuning_advisor': tuning.REGISTRY,
            'vulnerability_scan': outside.REGISTRY, 'dr_plan': dr.REGISTRY}


def _slug(heading):
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def _module_doc(name):
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    module = __import__('ansible_collections.pgops.postgresql.plugins.modules.%s' % name, fromlist=['DOCUMENTATION'])
    return yaml.safe_load(module.DOCUMENTATION)


def _flat(value):
    return ' '.join(value) if isinstance(value, list) else (value or '')


def test_every_registered_check_is_in_the_runbook_its_record_names():
    for module, registry in _registries().items():
        for check in registry.checks:
            assert check.runbook, (module, check.id)
            page, dummy, anchor = check.runbook.partition('#')
            text = open(os.path.join(ROOT, 'docs', 'runbooks', page)).read()
            headings = [_slug(line.lstrip('#')) for line in text.splitlines() if line.startswith('#')]
            assert anchor in headings, (check.id, check.runbook)
            assert '`%s`' % check.id in text, (check.id, page)
            assert check.cadence and set(check.cadence) <= {'daily', 'weekly', 'monthly', 'quarterly'}, check.id


def test_module_documentation_lists_every_check_and_threshold_of_its_registry():
    registries = _registries()
    health = registries['health_check']
    options = _module_doc('health_check')['options']
    known = re.search(r'Known names: ([^.]*)\.', _flat(options['checks']['description'])).group(1)
    assert [n.strip() for n in known.split(',')] == list(health.names)
    for module, registry in registries.items():
        doc = _flat(_module_doc(module)['options'].get('thresholds', {}).get('description'))
        for name, threshold in registry.thresholds.items():
            default = threshold.default
            shown = '%d' % default if float(default) == int(default) else '%s' % default
            assert re.search(r'\b%s[ (]+%s\b' % (name, shown), doc), (module, name, shown)


def test_every_module_documentation_block_is_yaml():
    """DOCUMENTATION, EXAMPLES and RETURN of each module parse (sanity says so too, minutes later)."""
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    for path in sorted(os.listdir(os.path.join(ROOT, 'plugins', 'modules'))):
        if not path.endswith('.py') or path.startswith('_'):
            continue
        module = __import__('ansible_collections.pgops.postgresql.plugins.modules.%s' % path[:-3],
                            fromlist=['DOCUMENTATION'])
        for block in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            assert yaml.safe_load(getattr(module, block)) is not None, (path, block)


def test_every_alert_is_in_the_monitoring_runbook_and_links_a_section_that_exists():
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    from ansible_collections.pgops.postgresql.plugins.module_utils import _alerts
    text = open(os.path.join(ROOT, 'docs', 'runbooks', 'monitoring.md')).read()
    names = [a.name for a in _alerts.ALERTS]
    assert len(set((a.name, a.check) for a in _alerts.ALERTS)) == len(names), 'an alert name is used twice'
    for alert in _alerts.ALERTS:
        assert '| `%s` | `%s` |' % (alert.name, alert.check) in text, alert.name
        page, dummy, anchor = alert.runbook_anchor.partition('#')
        headings = [_slug(line.lstrip('#')) for line in open(os.path.join(ROOT, 'docs', 'runbooks', page))
                    if line.startswith('#')]
        assert anchor in headings, (alert.name, alert.runbook_anchor)
