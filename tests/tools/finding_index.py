# SPDX-License-Identifier: GPL-3.0-or-later
"""Write (or, with --check, verify) the index of every finding id in docs/troubleshooting.md: each
check of each registry with the module that raises it and its runbook section, between the markers
<!-- finding-index:start --> and <!-- finding-index:end -->."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

PAGE = os.path.join(ROOT, 'docs', 'troubleshooting.md')
START, END = '<!-- finding-index:start -->', '<!-- finding-index:end -->'


def registries():
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import (
        backup, capacity, dr, health, indexes, integrity, logs, outside, performance, pools, roles, schema, security, sla, tuning)
    return {'health_check': health.REGISTRY, 'role_audit': roles.REGISTRY, 'security_audit': security.REGISTRY,
            'backup_verify': backup.REGISTRY, 'index_review': indexes.REGISTRY, 'amcheck': integrity.REGISTRY,
            'performance_review': performance.REGISTRY, 'capacity': capacity.REGISTRY, 'log_review': logs.REGISTRY,
            'sla': sla.REGISTRY, 'pool_check': pools.REGISTRY, 'schema_doc': schema.REGISTRY,
            'schema_site': schema.CHANGE_REGISTRY, 'tuning_advisor': tuning.REGISTRY,
            'vulnerability_scan': outside.REGISTRY, 'dr_plan': dr.REGISTRY}


def index():
    rows = []
    for module, registry in registries().items():
        for check in registry.checks:
            page, dummy, anchor = check.runbook.partition('#')
            what = check.title[len('No problem found: '):] if check.title.startswith('No problem found: ') \
                else check.title
            rows.append((check.id, module, what.replace('|', '\\|'), 'runbooks/%s#%s' % (page, anchor)))
    lines = ['| Finding id | Raised by | What the ok finding says | Runbook section |', '|---|---|---|---|']
    for fid, module, what, link in sorted(rows):
        lines.append('| `%s` | `%s` | %s | [%s](%s) |' % (fid, module, what, link.split('/')[-1], link))
    return '\n'.join(lines)


def main(argv):
    with open(PAGE) as fh:
        text = fh.read()
    before, sep, rest = text.partition(START)
    dummy, sep2, after = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit('%s has no %s ... %s markers' % (PAGE, START, END))
    new = before + START + '\n' + index() + '\n' + END + after
    if '--check' in argv:
        if new != text:
            print('out of date (run python tests/tools/finding_index.py): %s' % PAGE)
            return 1
        return 0
    with open(PAGE, 'w') as fh:
        fh.write(new)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
