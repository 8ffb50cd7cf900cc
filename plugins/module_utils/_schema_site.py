# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The files of schema_site: the Markdown dictionary, the HTML site and the history, each in a
directory the module owns (a manifest names its files), planned in full before anything is
written and written all or nothing.

``markdown_files`` / ``html_files`` -> ``{relative path: bytes}``; ``history`` -> what to write and
remove in the history directory and the changes since the last snapshot; ``plan`` compares with
what is on disk; ``apply`` writes a plan and, when any step fails, puts every file back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.pgops.postgresql.plugins.module_utils import _files
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_model import (
    Database, neighbourhood_dot, schema_dot)
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_pages import (
    changelog_blocks, compare_blocks, database_blocks, relation_blocks, root_blocks, schema_blocks)
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_render import (
    CSS, SEARCH_JS, html_path, markdown_path, search_index, to_html, to_markdown)
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_snapshot import (
    FORMAT, diff, dumps, qualified, read_json)
from ansible_collections.pgops.postgresql.plugins.module_utils._timing import Steps

MANIFEST = '.pgops-schema-manifest.json'
SNAPSHOT = re.compile(r'^\d{6}-\d{8}T\d{6}Z\.json$')
CHANGELOG = 'changelog.json'


def models(databases):
    return [Database(name, databases[name]) for name in sorted(databases)]


def markdown_files(dbs, coverage, ctx):
    files = {}

    def page(key, blocks):
        path = markdown_path(key)
        files[path] = to_markdown(blocks, path).encode('utf-8')

    page(('root',), root_blocks(ctx['title'], ctx['source'], dbs, ctx['changelog'] is not None, ctx['compare_label']))
    for db in dbs:
        page(('db', db.name), database_blocks(db, coverage.get(db.name, {})))
        for name in sorted(db.schemas):
            page(('schema', db.name, name), schema_blocks(db, db.schemas[name], ctx['statistics'], True,
                                                          ctx['max_tables']))
    if ctx['changelog'] is not None:
        page(('changelog',), changelog_blocks(ctx['changelog']))
    if ctx['compare_label']:
        page(('compare',), compare_blocks(ctx['compare_label'], ctx['compare_taken_at'], ctx['differences']))
    return files


def graphs(dbs, max_tables):
    """The Graphviz sources of the site: ``{key: dot}``."""
    out = {}
    for db in dbs:
        for name, schema in db.schemas.items():
            source = schema_dot(db, schema, max_tables)
            if source:
                out[('schema', db.name, name)] = source
        for rel in db.relations.values():
            out[('rel', db.name, rel.schema, rel.name)] = neighbourhood_dot(db, rel)
    return out


def html_files(dbs, coverage, ctx, svgs):
    files = {'assets/site.css': CSS.encode(), 'assets/search.js': SEARCH_JS.encode()}
    title = ctx['title']

    def page(key, page_title, blocks):
        path = html_path(key)
        files[path] = to_html(blocks, path, page_title, title, svgs).encode('utf-8')

    entries = []
    page(('root',), title, root_blocks(title, ctx['source'], dbs, ctx['changelog'] is not None, ctx['compare_label']))
    for db in dbs:
        page(('db', db.name), 'Database %s' % db.name, database_blocks(db, coverage.get(db.name, {})))
        for name, schema in sorted(db.schemas.items()):
            page(('schema', db.name, name), 'Schema %s' % name,
                 schema_blocks(db, schema, ctx['statistics'], False, ctx['max_tables']))
            entries.append([name, 'schema in %s' % db.name, html_path(('schema', db.name, name)), ''])
            for fn in schema.functions:
                entries.append(['%s(%s)' % (qualified(fn['schema'], fn['name']), fn['arguments']), 'function',
                                html_path(('schema', db.name, name)), fn.get('comment') or ''])
        for rel in sorted(db.relations.values(), key=lambda r: r.key):
            key = ('rel', db.name, rel.schema, rel.name)
            blocks = relation_blocks(db, rel, 1, ctx['statistics'])
            blocks[1:1] = [('p', ['Database ', ('link', db.name, ('db', db.name)), ', schema ',
                                  ('link', rel.schema, ('schema', db.name, rel.schema))]), ('svg', key)]
            page(key, rel.label, blocks)
            url = html_path(key)
            entries.append([rel.label, rel.kind_name, url, rel.row.get('comment') or ''])
            for col in rel.columns:
                entries.append(['%s.%s' % (rel.label, qualified(col['name'])), 'column %s' % col['type'], url,
                                col.get('comment') or ''])
    if ctx['changelog'] is not None:
        page(('changelog',), 'Schema changelog', changelog_blocks(ctx['changelog']))
    if ctx['compare_label']:
        page(('compare',), 'Compared with %s' % ctx['compare_label'],
             compare_blocks(ctx['compare_label'], ctx['compare_taken_at'], ctx['differences']))
    files['assets/search-index.js'] = search_index(entries).encode('utf-8')
    return files


def stamp(taken_at):
    """2026-12-03T17:36:55Z -> 20261203T173655Z (a snapshot's file name)."""
    digits = re.sub(r'[^0-9]', '', taken_at or '')
    if len(digits) < 14:
        raise ParameterError('facts', 'the facts carry no time of reading (%r)' % taken_at,
                             'give the file schema_doc wrote with dest')
    return '%sT%sZ' % (digits[:8], digits[8:14])


def snapshots(directory):
    """The snapshot files of a history directory, oldest first."""
    try:
        return sorted(n for n in os.listdir(directory) if SNAPSHOT.match(n))
    except OSError:
        return []


def history(directory, snap, taken_at, keep):
    """(writes, removes, changes, changelog entries) for a history directory.

    The first snapshot is the baseline (no change); an unchanged schema writes nothing."""
    names = snapshots(directory)
    previous = read_json(os.path.join(directory, names[-1])) if names else None
    entries = (read_json(os.path.join(directory, CHANGELOG)) or {}).get('entries', []) if names else []
    if previous is not None and previous.get('databases') == snap:
        return {}, [], [], entries
    changes = diff(previous['databases'], snap) if previous is not None else []
    # a sequence number first: two readings within one second still sort in order
    name = '%06d-%s.json' % ((int(names[-1][:6]) + 1) if names else 1, stamp(taken_at))
    writes = {name: dumps({'format': FORMAT, 'taken_at': taken_at, 'databases': snap}).encode()}
    if changes:
        entries = [{'taken_at': taken_at, 'changes': changes}] + entries
    writes[CHANGELOG] = dumps({'format': FORMAT, 'entries': entries}).encode()
    kept = sorted(set(names) | set([name]))
    removes = kept[:-keep] if keep and len(kept) > keep else []
    return writes, removes, changes, entries


def reference(path):
    """A snapshot to compare with: a snapshot file, or the newest in a history directory."""
    target = path
    if os.path.isdir(path):
        names = snapshots(path)
        if not names:
            raise ParameterError('compare_with', '%s holds no snapshot' % path,
                                 'name the history_dir of a host that schema_site has documented')
        target = os.path.join(path, names[-1])
    data = read_json(target)
    if not isinstance(data, dict) or data.get('format') != FORMAT or 'databases' not in data:
        raise ParameterError('compare_with', '%s is not a schema snapshot' % path,
                             'name a history_dir or one of its NNNNNN-YYYYMMDDTHHMMSSZ.json files')
    return data


def plan(directory, writes, removes=None, overwrite_foreign=False, param='dest'):
    """What writing ``writes`` into ``directory`` changes. Without ``removes``, the files of the
    previous manifest that are not written any more are removed (the directory is the module's)."""
    manifest = read_json(os.path.join(directory, MANIFEST))
    present = os.listdir(directory) if os.path.isdir(directory) else []
    if removes is not None:     # the history: its own file names only
        present = [n for n in present if not (SNAPSHOT.match(n) or n == CHANGELOG or n.startswith('.pgops-'))]
    if present and manifest is None and not overwrite_foreign:
        raise ParameterError(param, '%s holds files this module did not write (no %s)' % (directory, MANIFEST),
                             'name an empty or new directory, or set overwrite_foreign_directory: true to write '
                             'into it (files it does not name are left alone)')
    owned = set((manifest or {}).get('files', []))
    if removes is None:
        removes = sorted(owned - set(writes))
        writes = dict(writes)
        writes[MANIFEST] = dumps({'files': sorted(writes)}).encode()
    added, updated = [], []
    for rel in sorted(writes):
        old = _files.read_bytes(os.path.join(directory, rel))
        if old is None:
            added.append(rel)
        elif old != writes[rel]:
            updated.append(rel)
    removed = [rel for rel in removes if os.path.lexists(os.path.join(directory, rel))]
    return {'directory': directory, 'writes': writes, 'added': added, 'updated': updated, 'removed': removed}


def changed(plans):
    return any(p['added'] or p['updated'] or p['removed'] for p in plans.values())


def _safe(directory, rel):
    path = os.path.normpath(os.path.join(directory, rel))
    if not path.startswith(os.path.normpath(directory) + os.sep):
        raise PgopsError('refusing to write %s outside %s' % (rel, directory))
    return path


def apply(module, plans, mode):
    """Write every plan (history first, then Markdown, then HTML); on any failure put every file
    back as it was and remove the directories made, then raise with what happened."""
    undo, made = [], []
    steps = Steps()

    def write(p):
        for rel in p['added'] + p['updated']:
            path = _safe(p['directory'], rel)
            parent = os.path.dirname(path)
            missing = []
            while not os.path.isdir(parent):
                missing.append(parent)
                parent = os.path.dirname(parent)
            for d in reversed(missing):
                os.mkdir(d, 0o755)
                made.append(d)
            undo.append((path, _files.read_bytes(path)))
            _files.write_atomic(module, path, p['writes'][rel], mode=mode)
        for rel in p['removed']:
            path = _safe(p['directory'], rel)
            undo.append((path, _files.read_bytes(path)))
            os.unlink(path)
            _prune(p['directory'], os.path.dirname(path))

    try:
        for name in ('history', 'markdown', 'html'):
            if name in plans:
                steps.run(name, write, plans[name])
    except Exception as exc:
        failed = [s['step'] for s in steps.done if not s['ok'] or s.get('fault')]
        for path, old in reversed(undo):
            if old is not None and not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path))      # a removed page's directory was pruned
            _files.put_back(module, path, old, mode=mode)
        for d in reversed(made):
            if os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)
        raise PgopsError('writing the %s files failed (%s); the %d files written or removed before were put back '
                         'and the directories made were removed: the documentation and the history are as before'
                         % (', '.join(failed) or 'documentation', getattr(exc, 'msg', None) or exc, len(undo)))
    return steps.done


def _prune(root, directory):
    root = os.path.normpath(root)
    while os.path.normpath(directory) != root and os.path.isdir(directory) and not os.listdir(directory):
        os.rmdir(directory)
        directory = os.path.dirname(directory)


def load_facts(path):
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get('databases'), dict):
        raise ParameterError('facts', '%s is not a facts file of schema_doc' % path,
                             'give the file schema_doc wrote with dest (fetched to the controller)')
    return data


def summary_counts(plans):
    return dict((name, dict(added=len(p['added']), updated=len(p['updated']), removed=len(p['removed']),
                            bytes=sum(len(v) for v in p['writes'].values())))
                for name, p in plans.items())
