# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The blocks of ``_schema_pages`` written as Markdown and as a self-contained HTML site, and the
Graphviz diagrams drawn as SVG.

Every value is data, never structure: Markdown text has its punctuation backslash-escaped and its
tags as entities, code spans take a fence longer than any backtick run in them, table cells never
hold a line break or an unescaped pipe; HTML is escaped everywhere and the search script inserts
results with textContent; the search index is JSON with '<' written as \\u003c. The site loads
nothing from outside its directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from html import escape

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, ToolError
from ansible_collections.pgops.postgresql.plugins.module_utils._schema_model import slug

# ---- paths ----------------------------------------------------------------------------------------


def markdown_path(page):
    kind = page[0]
    if kind == 'root':
        return 'README.md'
    if kind in ('changelog', 'compare'):
        return '%s.md' % kind.upper()
    if kind == 'db':
        return '%s/README.md' % slug(page[1])
    return '%s/%s.md' % (slug(page[1]), slug(page[2]))     # a schema, and its relations' sections


def html_path(page):
    kind = page[0]
    if kind == 'root':
        return 'index.html'
    if kind in ('changelog', 'compare'):
        return '%s.html' % kind
    if kind == 'db':
        return '%s/index.html' % slug(page[1])
    if kind == 'schema':
        return '%s/%s/index.html' % (slug(page[1]), slug(page[2]))
    return '%s/%s/%s.html' % (slug(page[1]), slug(page[2]), slug(page[3]))


def _relative(target, here):
    return posixpath.relpath(target, posixpath.dirname(here) or '.')


# ---- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r'([\\`*_\[\]#|!~{}])')


_MD_ORDERED = re.compile(r'^(\d+)([.)])(?=\s|$)')
_MD_PLAIN = re.compile(r'^[A-Za-z0-9 ,.:;()/=\'"%$@?^+-]*$')


def md_text(text):
    value = str(text if text is not None else '')
    if _MD_PLAIN.match(value) and not value.startswith(('-', '+', '=')) and not _MD_ORDERED.match(value):
        return value
    value = re.sub(r'[\r\n\t]+', ' ', value)
    value = value.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    value = _MD_SPECIAL.sub(r'\\\1', value)
    value = _MD_ORDERED.sub(r'\1\\\2', value)      # "1. text" is not a list
    return re.sub(r'^([-+=])', r'\\\1', value)


def md_code(text, in_table=False):
    value = re.sub(r'[\r\n\t]+', ' ', str(text if text is not None else ''))
    if not value:
        return ''
    if in_table:
        value = value.replace('|', '\\|')
    longest = max([len(run) for run in re.findall(r'`+', value)] or [0])
    fence = '`' * (longest + 1)
    pad = ' ' if value.startswith('`') or value.endswith('`') or longest else ''
    return '%s%s%s%s%s' % (fence, pad, value, pad, fence)


def _md_inline(parts, here, in_table=False):
    out = []
    for part in parts:
        if isinstance(part, tuple) and part[0] == 'code':
            out.append(md_code(part[1], in_table))
        elif isinstance(part, tuple) and part[0] == 'link':
            out.append('[%s](%s)' % (md_text(part[1]), _relative(markdown_path(part[2]), here)))
        else:
            out.append(md_text(part))
    return ''.join(out)


def to_markdown(blocks, here):
    lines = []
    for block in blocks:
        kind = block[0]
        if kind == 'h':
            lines.append('%s %s' % ('#' * block[1], _md_inline(block[2], here)))
        elif kind == 'p':
            lines.append(_md_inline(block[1], here))
        elif kind == 'list':
            lines.append('\n'.join('- ' + _md_inline(item, here) for item in block[1]))
        elif kind == 'table':
            rows = ['| %s |' % ' | '.join(md_text(h) for h in block[1]), '|%s' % ('---|' * len(block[1]))]
            rows += ['| %s |' % ' | '.join(_md_inline(cell, here, True) for cell in row) for row in block[2]]
            lines.append('\n'.join(rows))
        elif kind in ('code', 'mermaid'):
            text = block[2] if kind == 'code' else block[1]
            longest = max([len(run) for run in re.findall(r'`{3,}', text)] or [2])
            fence = '`' * (longest + 1)
            lines.append('%s%s\n%s\n%s' % (fence, block[1] if kind == 'code' else 'mermaid', text.rstrip('\n'), fence))
    return '\n\n'.join(lines) + '\n'


# ---- HTML -----------------------------------------------------------------------------------------

CSS = """body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#1e293b;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff;font-weight:600;text-decoration:none}
#q{flex:1;max-width:420px;padding:4px 8px;font-size:14px}
#hits{position:absolute;top:40px;left:200px;background:#fff;color:#1f2328;margin:0;padding:4px 8px 4px 24px;
max-height:60vh;overflow:auto;box-shadow:0 2px 8px #0004;z-index:2}
#hits:empty{display:none}
#hits a{color:#0969da;font-weight:400}
.kind{color:#57606a;font-size:12px}
main{padding:8px 24px;background:#fff;max-width:1400px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
code{font-size:12px;background:#f6f8fa;padding:0 2px}
pre{background:#f6f8fa;padding:8px;overflow:auto}
figure.diagram{border:1px solid #d0d7de;margin:8px 0;padding:4px;overflow:auto;max-width:100%}
figure.diagram svg{max-width:100%;height:auto}
"""

SEARCH_JS = r"""(function () {
  var root = document.body.getAttribute('data-root') || '';
  var data = window.PGOPS_SEARCH || [];
  var box = document.getElementById('q');
  var hits = document.getElementById('hits');
  function add(entry) {
    var li = document.createElement('li');
    var a = document.createElement('a');
    a.href = root + entry[2];
    a.textContent = entry[0];
    var kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = ' ' + entry[1] + (entry[3] ? ': ' + entry[3] : '');
    li.appendChild(a);
    li.appendChild(kind);
    hits.appendChild(li);
  }
  function show(text) {
    while (hits.firstChild) { hits.removeChild(hits.firstChild); }
    var q = text.trim().toLowerCase();
    if (!q) { return; }
    var exact = [], other = [];
    for (var i = 0; i < data.length; i++) {
      var name = data[i][0].toLowerCase();
      var last = name.slice(name.lastIndexOf('.') + 1);
      if (last === q) { exact.push(data[i]); }
      else if (name.indexOf(q) >= 0 || (data[i][3] || '').toLowerCase().indexOf(q) >= 0) { other.push(data[i]); }
    }
    var found = exact.concat(other).slice(0, 50);
    for (var j = 0; j < found.length; j++) { add(found[j]); }
    if (!found.length) {
      var li = document.createElement('li');
      li.textContent = 'Nothing found';
      hits.appendChild(li);
    }
  }
  box.addEventListener('input', function () { show(box.value); });
  var m = /[?&]q=([^&]*)/.exec(window.location.search);
  if (m) { box.value = decodeURIComponent(m[1].replace(/\+/g, ' ')); show(box.value); }
})();
"""


def _h(text):
    return escape(str(text if text is not None else ''), quote=True)


def _html_inline(parts, here):
    out = []
    for part in parts:
        if isinstance(part, tuple) and part[0] == 'code':
            out.append('<code>%s</code>' % _h(part[1]) if part[1] not in (None, '') else '')
        elif isinstance(part, tuple) and part[0] == 'link':
            out.append('<a href="%s">%s</a>' % (_h(_relative(html_path(part[2]), here)), _h(part[1])))
        else:
            out.append(_h(part))
    return ''.join(out)


def to_html(blocks, here, title, site_title, svgs):
    root = '../' * here.count('/')
    body = []
    for block in blocks:
        kind = block[0]
        if kind == 'h':
            body.append('<h%d>%s</h%d>' % (block[1], _html_inline(block[2], here), block[1]))
        elif kind == 'p':
            body.append('<p>%s</p>' % _html_inline(block[1], here))
        elif kind == 'list':
            body.append('<ul>%s</ul>' % ''.join('<li>%s</li>' % _html_inline(i, here) for i in block[1]))
        elif kind == 'table':
            head = ''.join('<th>%s</th>' % _h(h) for h in block[1])
            rows = ''.join('<tr>%s</tr>' % ''.join('<td>%s</td>' % _html_inline(c, here) for c in row)
                           for row in block[2])
            body.append('<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>' % (head, rows))
        elif kind == 'code':
            body.append('<pre><code class="language-%s">%s</code></pre>' % (_h(block[1]), _h(block[2])))
        elif kind == 'svg':
            svg = svgs.get(block[1])
            body.append('<figure class="diagram">%s</figure>' % svg if svg else
                        '<p class="kind">Diagram not drawn (diagrams are off).</p>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>%s</title><link rel="stylesheet" href="%sassets/site.css"></head>\n'
            '<body data-root="%s"><header><a href="%sindex.html">%s</a>'
            '<input id="q" type="search" placeholder="Search tables, columns, functions" autocomplete="off">'
            '<ol id="hits"></ol></header>\n<main>\n%s\n</main>\n'
            '<script src="%sassets/search-index.js"></script><script src="%sassets/search.js"></script>'
            '</body></html>\n') % (_h(title), root, root, root, _h(site_title), '\n'.join(body), root, root)


def search_index(entries):
    """The search data as a script (a file:// page can load a script, not fetch JSON)."""
    text = json.dumps(entries, separators=(',', ':'), ensure_ascii=False)
    text = text.replace('<', '\\u003c').replace('\u2028', '\\u2028').replace('\u2029', '\\u2029')
    return 'window.PGOPS_SEARCH = %s;\n' % text


# ---- Graphviz -------------------------------------------------------------------------------------

def dot_program():
    return shutil.which('dot')


def draw(graphs, timeout=600, batch=200):
    """``{key: dot source}`` -> ``{key: inline SVG}``, many graphs per run of ``dot``, one run per CPU
    at a time."""
    workers = max(1, os.cpu_count() or 1)
    program = dot_program()
    if not program:
        raise ParameterError('diagrams', 'Graphviz dot is not installed where the module runs',
                             'install graphviz (Debian: apt-get install graphviz) or set diagrams: false')
    keys = list(graphs)
    work = tempfile.mkdtemp(prefix='pgops-dot-')
    try:
        files = []
        for i, key in enumerate(keys):
            path = os.path.join(work, 'g%d.dot' % i)
            with open(path, 'w') as fh:
                fh.write(graphs[key])
            files.append(path)
        chunks = [files[start:start + batch] for start in range(0, len(files), batch)]
        for start in range(0, len(chunks), workers):
            running = [subprocess.Popen([program, '-Tsvg', '-O'] + chunk, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True) for chunk in chunks[start:start + workers]]
            for proc in running:
                try:
                    dummy, err = proc.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:
                    for other in running:
                        other.kill()
                        other.wait()
                    raise ToolError('dot did not draw %d diagrams within %d s. Fix: lower diagram_max_tables, or '
                                    'set diagrams: false' % (batch, timeout))
                if proc.returncode != 0:
                    for other in running:
                        if other.poll() is None:
                            other.kill()
                            other.wait()
                    raise ToolError('dot failed (rc %d): %s' % (proc.returncode, err.strip()[-500:]))
        out = {}
        for i, key in enumerate(keys):
            with open(files[i] + '.svg') as fh:
                svg = fh.read()
            out[key] = svg[svg.index('<svg'):].strip()
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)
