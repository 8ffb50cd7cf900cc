# SPDX-License-Identifier: GPL-3.0-or-later
"""Write (or, with --check, verify) the lists in checking modules' DOCUMENTATION that the check
registries define: the known check names and the thresholds with their defaults.

Each list is one YAML string item of an option's description, starting with "Known names:" or
"Names and defaults:"; the item is replaced by the text generated from the registry."""

import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))

INDENT = ' ' * 6


def _number(value):
    return '%d' % value if float(value) == int(value) else '%s' % value


def lists(registry):
    """The generated items: label -> text."""
    out = {'Known names:': 'Known names: %s.' % ', '.join(registry.names)}
    if registry.thresholds:
        parts = []
        for name, t in registry.thresholds.items():
            parts.append('%s %s%s' % (name, _number(t.default), ' (%s)' % t.doc if t.doc else ''))
        out['Names and defaults:'] = 'Names and defaults: %s.' % '; '.join(parts).replace('"', "'")
    return out


def _item(text):
    wrapped = textwrap.wrap('- "%s"' % text, width=110, initial_indent=INDENT,
                            subsequent_indent=INDENT + '  ', break_on_hyphens=False)
    return '\n'.join(wrapped) + '\n'


def rewrite(source, registry):
    for label, text in lists(registry).items():
        pattern = re.compile(r'^ *- "%s.*?"\n' % re.escape(label), re.S | re.M)
        if not pattern.search(source):
            raise SystemExit('no item starting with %r in the DOCUMENTATION' % label)
        source = pattern.sub(lambda m: _item(text), source, count=1)
    return source


def modules():
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import (
        capacity, dr, health, indexes, logs, outside, performance, pools, schema, sla, tuning)
    return {'health_check': health.REGISTRY, 'index_review': indexes.REGISTRY,
            'performance_review': performance.REGISTRY, 'capacity': capacity.REGISTRY,
            'log_review': logs.REGISTRY, 'sla': sla.REGISTRY, 'pool_check': pools.REGISTRY,
            'schema_doc': schema.REGISTRY, 'schema_site': schema.CHANGE_REGISTRY,
            'tuning_advisor': tuning.REGISTRY,
            'vulnerability_scan': outside.REGISTRY, 'dr_plan': dr.REGISTRY}


def main(argv):
    check = '--check' in argv
    stale = []
    for name, registry in modules().items():
        path = os.path.join(ROOT, 'plugins', 'modules', name + '.py')
        with open(path) as fh:
            old = fh.read()
        new = rewrite(old, registry)
        if new != old:
            stale.append(path)
            if not check:
                with open(path, 'w') as fh:
                    fh.write(new)
    if check and stale:
        print('out of date (run python tests/tools/module_docs.py): %s' % ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
