#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: schema_site
short_description: Write the data dictionary, its diagrams and its history from schema_doc's facts
version_added: 0.2.0
description:
  - Runs where the facts are (the controller, with C(delegate_to=localhost)) and never connects to a server.
  - From the facts M(pgops.postgresql.schema_doc) wrote with O(pgops.postgresql.schema_doc#module:dest), writes
    a data dictionary in Markdown (O(markdown_dir); a page per database and per schema, every table, view,
    materialized view, partition, function and sequence with its attributes, and a Mermaid ER block per schema
    that GitHub and GitLab draw), a self-contained HTML site (O(html_dir); a page per relation with its
    neighbourhood as an SVG diagram drawn by Graphviz C(dot), a diagram per schema, a search box over tables,
    columns and functions; nothing is loaded from outside the directory), and a history (O(history_dir)).
  - The history keeps a normalised snapshot of the schema (sizes, row counts and scan counts left out) when it
    changed, and a changelog of what was added, dropped and altered between snapshots, privileges and owners
    included. The changes since the last snapshot are findings (C(schema.changed), C(schema.privileges_changed)).
  - O(compare_with) compares with another host's snapshot (staging against production); the differences are a page
    and findings (C(schema.differs_from_reference)).
  - Each directory belongs to the module (a manifest names its files). Pages of dropped objects are removed, files
    it did not write are never touched, and a directory holding files of its own is refused unless
    O(overwrite_foreign_directory) is set.
  - Everything is computed before the first write; the files are then written all or nothing (a failure puts back
    every file written or removed). A second run over the same schema changes nothing.
author:
  - pgops maintainers (@pgops)
extends_documentation_fragment:
  - pgops.postgresql.findings
options:
  facts:
    description: The facts file M(pgops.postgresql.schema_doc) wrote with C(dest), fetched to where this runs.
    type: path
    required: true
  title:
    description: Title of the pages.
    type: str
    default: Schema documentation
  source:
    description: Where the facts come from (a host or cluster name), shown on the first page.
    type: str
    default: ''
  markdown_dir:
    description: Directory of the Markdown dictionary (in a repository's docs, for documentation as code).
    type: path
  html_dir:
    description: Directory of the HTML site (open its C(index.html)).
    type: path
  history_dir:
    description: Directory of the snapshots and the changelog of this host; the changes are reported against its
      newest snapshot.
    type: path
  keep_snapshots:
    description: Snapshots kept in O(history_dir) (the changelog keeps every change); 0 keeps all.
    type: int
    default: 24
  compare_with:
    description: A snapshot to compare with, a C(NNNNNN-YYYYMMDDTHHMMSSZ.json) file or another host's O(history_dir) (its
      newest snapshot).
    type: path
  compare_label:
    description: The name of the reference in the pages and findings (default the path of O(compare_with)).
    type: str
  statistics:
    description: Show row estimates, sizes and scan counts. Turn it off for a Markdown dictionary kept in a
      repository, so that it changes only when the schema does.
    type: bool
    default: true
  diagrams:
    description: Draw the SVG diagrams of the HTML site (needs Graphviz C(dot) where the module runs).
    type: bool
    default: true
  diagram_max_tables:
    description: Schemas with more tables get no schema diagram (each table keeps its neighbourhood diagram).
    type: int
    default: 80
  overwrite_foreign_directory:
    description: Write into a directory that holds files this module did not write (they are left alone).
    type: bool
    default: false
  mode:
    description: Mode of the files written.
    type: raw
    default: '0644'
  checks:
    description:
      - The history checks to run (all when empty).
      - "Known names: changed, privileges_changed, differs_from_reference."
    type: list
    elements: str
    default: []
  skip_checks:
    description: History checks not to run.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - "Names and defaults: change_findings_max 50 (findings per check at most; the pages list every
        change)."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Computes the same plan and reports the files it would write and remove, without writing.
  diff_mode:
    support: full
    description: The files added, updated and removed, and the changes of the schema.
seealso:
  - module: pgops.postgresql.schema_doc
'''

EXAMPLES = r'''
- name: Read the schema on the server into a file
  pgops.postgresql.schema_doc:
    dest: /var/tmp/pgops-schema.json.gz

- name: Bring the facts to the controller
  ansible.builtin.fetch:
    src: /var/tmp/pgops-schema.json.gz
    dest: "/var/lib/pgops/schema/facts/{{ inventory_hostname }}.json.gz"
    flat: true

- name: Write the dictionary, the site and the history
  pgops.postgresql.schema_site:
    facts: "/var/lib/pgops/schema/facts/{{ inventory_hostname }}.json.gz"
    source: "{{ inventory_hostname }}"
    markdown_dir: "{{ playbook_dir }}/../docs/schema/{{ inventory_hostname }}"
    html_dir: "/var/lib/pgops/schema/site/{{ inventory_hostname }}"
    history_dir: "/var/lib/pgops/schema/history/{{ inventory_hostname }}"
    compare_with: /var/lib/pgops/schema/history/db-staging1
    compare_label: staging
    statistics: false
  delegate_to: localhost
'''

RETURN = r'''
changes:
  description: What changed since the newest snapshot of O(history_dir) (empty on the first run), each with
    C(database), C(kind), C(object), C(change) (added, dropped, altered), C(attributes) (altered ones as
    [before, after]) and C(privileges).
  returned: success
  type: list
  elements: dict
differences:
  description: The differences from O(compare_with), as RV(changes) (the reference is the before).
  returned: success
  type: list
  elements: dict
files:
  description: Per directory (history, markdown, html) the files C(added), C(updated), C(removed) (counts) and the
    C(bytes) of all its files (the size of the site).
  returned: success
  type: dict
snapshot:
  description: The snapshot written (none when the schema did not change).
  returned: success
  type: str
findings:
  description: The history findings (changes, privilege changes, differences from the reference).
  returned: success
  type: list
  elements: dict
summary:
  description: Findings by severity.
  returned: success
  type: dict
steps:
  description: The writing steps and how long each took.
  returned: success
  type: list
  elements: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgops.postgresql.plugins.module_utils import _schema_site as site, _validate
from ansible_collections.pgops.postgresql.plugins.module_utils._checks import schema
from ansible_collections.pgops.postgresql.plugins.module_utils._checks._pipeline import run_module, selection_argument_spec
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._findings import (
    apply_waivers, parse_waivers, sort_findings, summarize, waiver_argument_spec)
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_render import draw
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_snapshot import describe, diff, snapshot


def validate(p):
    for param in ('title', 'source', 'compare_label'):
        if p[param] is not None:
            _validate.one_line(p[param], param, empty=True)
    for param in ('facts', 'markdown_dir', 'html_dir', 'history_dir', 'compare_with'):
        _validate.absolute_path(p[param], param)
    if not (p['markdown_dir'] or p['html_dir'] or p['history_dir']):
        raise ParameterError('markdown_dir', 'no output is named', 'give markdown_dir, html_dir or history_dir')
    if p['keep_snapshots'] < 0:
        raise ParameterError('keep_snapshots', '%d is negative' % p['keep_snapshots'], 'give 0 (keep all) or more')
    if p['diagram_max_tables'] < 1:
        raise ParameterError('diagram_max_tables', 'must be at least 1', 'give the largest schema to draw, e.g. 80')
    if not os.path.isfile(p['facts']):
        raise ParameterError('facts', '%s does not exist' % p['facts'], 'fetch the file schema_doc wrote with dest')
    registry = schema.CHANGE_REGISTRY
    return (registry.validate_thresholds(p['thresholds']), registry.select(p['checks'], p['skip_checks']),
            parse_waivers(p['waivers'], known_ids=registry.ids))


def run(module, p):
    thresholds, selected, waivers = validate(p)
    facts = site.load_facts(p['facts'])
    snap = snapshot(facts['databases'])
    plans, changes, entries, snapshot_name = {}, [], None, None
    if p['history_dir']:
        writes, removes, changes, entries = site.history(p['history_dir'], snap, facts.get('taken_at'),
                                                         p['keep_snapshots'])
        plans['history'] = site.plan(p['history_dir'], writes, removes, p['overwrite_foreign_directory'], 'history_dir')
        snapshot_name = next((os.path.join(p['history_dir'], n) for n in writes if n != site.CHANGELOG), None)
    differences, label, ref_taken = [], None, None
    if p['compare_with']:
        ref = site.reference(p['compare_with'])
        differences = diff(ref['databases'], snap)
        label, ref_taken = p['compare_label'] or p['compare_with'], ref.get('taken_at')
    dbs = site.models(facts['databases'])
    coverage = dict((db, schema.coverage(f)) for db, f in facts['databases'].items())
    ctx = dict(title=p['title'], source='Read from %s at %s.' % (p['source'] or 'the server', facts.get('taken_at')),
               statistics=p['statistics'], max_tables=p['diagram_max_tables'], changelog=entries,
               compare_label=label, compare_taken_at=ref_taken, differences=differences)
    if p['markdown_dir']:
        plans['markdown'] = site.plan(p['markdown_dir'], site.markdown_files(dbs, coverage, ctx),
                                      overwrite_foreign=p['overwrite_foreign_directory'], param='markdown_dir')
    if p['html_dir']:
        svgs = draw(site.graphs(dbs, p['diagram_max_tables'])) if p['diagrams'] else {}
        plans['html'] = site.plan(p['html_dir'], site.html_files(dbs, coverage, ctx, svgs),
                                  overwrite_foreign=p['overwrite_foreign_directory'], param='html_dir')
    changed = site.changed(plans)
    steps = site.apply(module, plans, p['mode']) if changed and not module.check_mode else []
    findings = schema.CHANGE_REGISTRY.evaluate({'changes': changes, 'differences': differences}, thresholds, selected)
    findings = sort_findings(apply_waivers(findings, waivers))
    lines = []
    for name, plan in sorted(plans.items()):
        lines += ['%s %s/%s' % (sign, plan['directory'], rel) for sign, key in (('+', 'added'), ('~', 'updated'),
                                                                                ('-', 'removed'))
                  for rel in plan[key]]
    result = dict(changed=changed, changes=changes, differences=differences, files=site.summary_counts(plans),
                  snapshot=snapshot_name if changed else None, findings=findings, summary=summarize(findings),
                  steps=steps)
    if module._diff:
        result['diff'] = dict(prepared='\n'.join(lines + ['schema: ' + describe(c) for c in changes]))
    return result


def main():
    spec = waiver_argument_spec()
    spec.update(selection_argument_spec(cadence=False))
    spec.update(facts=dict(type='path', required=True), title=dict(type='str', default='Schema documentation'),
                source=dict(type='str', default=''), markdown_dir=dict(type='path'), html_dir=dict(type='path'),
                history_dir=dict(type='path'), keep_snapshots=dict(type='int', default=24),
                compare_with=dict(type='path'), compare_label=dict(type='str'),
                statistics=dict(type='bool', default=True), diagrams=dict(type='bool', default=True),
                diagram_max_tables=dict(type='int', default=80),
                overwrite_foreign_directory=dict(type='bool', default=False), mode=dict(type='raw', default='0644'))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    run_module(module, lambda p: run(module, p))


if __name__ == '__main__':
    main()
