# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Plots as inline SVG for the HTML reports: no script, no external resource, readable offline.

A plot is plain data, so the JSON report keeps it and the Markdown report shows its numbers:

* ``{'kind': 'line', 'title', 'unit', 'series': [{'name', 'points': [[x, y], ...], 'dashed': bool}],
  'x_labels': [[x, text], ...], 'y_min': number}``: x and y are numbers (days, bytes, seconds); the y
  axis starts at 0, or at ``y_min`` when it is given (a percentage near 100);
* ``{'kind': 'bars', 'title', 'unit', 'bars': [[label, value], ...]}``: horizontal bars.

``svg(plot)`` draws one; ``table(plot)`` gives its numbers as rows for Markdown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from html import escape as _escape
except ImportError:  # pragma: no cover - Python 2
    from cgi import escape as _escape

COLOURS = ('#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2')
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 260, 78, 16, 28, 40


def _h(text):
    return _escape(str(text), quote=True)


def human(value, unit):
    """A value for an axis or a label: bytes as kB/MB/GB, ms as ms/s, anything else as a number."""
    if value is None:
        return '-'
    if unit == 'bytes':
        n = float(value)
        for u in ('B', 'kB', 'MB', 'GB', 'TB', 'PB'):
            if abs(n) < 1024 or u == 'PB':
                return ('%d %s' % (n, u)) if u == 'B' else ('%.1f %s' % (n, u))
            n /= 1024.0
    if unit == 'ms' and abs(value) >= 1000:
        return '%.1f s' % (value / 1000.0)
    if unit == 's' and abs(value) >= 60:
        for size, name in ((86400.0, 'd'), (3600.0, 'h'), (60.0, 'min')):
            if abs(value) >= size:
                return '%.1f %s' % (value / size, name)
    if isinstance(value, float) and value != int(value):
        return '%.1f%s' % (value, ' ' + unit if unit else '')
    return '%d%s' % (value, ' ' + unit if unit and unit != 'bytes' else '')


def valid(plot):
    """Whether ``plot`` has the shape above (reports refuse nothing: a bad plot is left out)."""
    if not isinstance(plot, dict) or plot.get('kind') not in ('line', 'bars'):
        return False
    try:
        if plot['kind'] == 'line':
            return all(all(float(x) == float(x) and float(y) == float(y) for x, y in s['points'])
                       for s in plot['series'])
        return all(float(v) == float(v) for dummy, v in plot['bars'])
    except (KeyError, TypeError, ValueError):
        return False


def _line(plot):
    points = [(float(x), float(y)) for s in plot['series'] for x, y in s['points']]
    if not points:
        return ''
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y1 = max(p[1] for p in points) or 1.0
    y0 = min(float(plot.get('y_min') or 0.0), min(p[1] for p in points))
    y1 = y1 if y1 > y0 else y0 + 1
    x1 = x1 if x1 > x0 else x0 + 1

    def sx(x):
        return PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def sy(y):
        return H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B)
    out = []
    for i in range(5):
        y = y0 + (y1 - y0) * i / 4.0
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e7eb"/>' % (PAD_L, sy(y), W - PAD_R, sy(y)))
        out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%s</text>' % (
            PAD_L - 6, sy(y) + 4, _h(human(y, plot.get('unit')))))
    for x, text in plot.get('x_labels') or []:
        anchor = 'start' if float(x) <= x0 else 'end' if float(x) >= x1 else 'middle'
        out.append('<text x="%.1f" y="%d" text-anchor="%s" font-size="11">%s</text>'
                   % (sx(float(x)), H - PAD_B + 16, anchor, _h(text)))
    legend = []
    for i, s in enumerate(plot['series']):
        colour = COLOURS[i % len(COLOURS)]
        pts = ' '.join('%.1f,%.1f' % (sx(float(x)), sy(float(y))) for x, y in s['points'])
        if pts:
            out.append('<polyline class="series" fill="none" stroke="%s" stroke-width="2"%s points="%s"><title>%s'
                       '</title></polyline>' % (colour, ' stroke-dasharray="6 4"' if s.get('dashed') else '', pts,
                                                _h(s['name'])))
        legend.append('<tspan fill="%s">&#9632;</tspan> %s' % (colour, _h(s['name'])))
    out.append('<text x="%d" y="%d" font-size="11">%s</text>' % (PAD_L, H - 6, '&#160;&#160;'.join(legend)))
    return ''.join(out)


def _bars(plot):
    bars = plot['bars']
    if not bars:
        return ''
    top = max(float(v) for dummy, v in bars) or 1.0
    row = 22
    out = []
    for i, (label, value) in enumerate(bars):
        y = PAD_T + i * row
        width = (W - 300) * float(value) / top
        out.append('<text x="6" y="%d" font-size="11">%s</text>' % (y + 14, _h(str(label)[:36])))
        out.append('<rect class="bar" x="230" y="%d" width="%.1f" height="16" fill="%s"><title>%s: %s</title></rect>'
                   % (y + 2, max(width, 1), COLOURS[0], _h(label), _h(human(value, plot.get('unit')))))
        out.append('<text x="%.1f" y="%d" font-size="11">%s</text>' % (234 + width, y + 14,
                                                                       _h(human(value, plot.get('unit')))))
    return ''.join(out)


def svg(plot):
    """One plot as an inline ``<svg>`` element ('' when it has no data)."""
    if not valid(plot):
        return ''
    body = _line(plot) if plot['kind'] == 'line' else _bars(plot)
    if not body:
        return ''
    height = H if plot['kind'] == 'line' else PAD_T + 22 * len(plot['bars']) + 8
    return ('<figure class="plot"><svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" '
            'viewBox="0 0 %d %d"><title>%s</title><text x="6" y="16" font-size="13" font-weight="bold">%s</text>%s'
            '</svg></figure>' % (W, height, W, height, _h(plot.get('title', '')), _h(plot.get('title', '')), body))


def _cell(value):
    """A Markdown table cell: one line, no column break, no tag."""
    text = ' '.join(str(value).split())
    return text.replace('|', '\\|').replace('<', '&lt;').replace('>', '&gt;')


def table(plot):
    """The plot's numbers as Markdown table lines."""
    if not valid(plot):
        return []
    unit = plot.get('unit')
    if plot['kind'] == 'bars':
        return ['| Item | Value |', '|---|---|'] + [
            '| %s | %s |' % (_cell(label), human(v, unit)) for label, v in plot['bars']]
    labels = dict((float(x), t) for x, t in plot.get('x_labels') or [])
    lines = ['| Series | Point | Value |', '|---|---|---|']
    for s in plot['series']:
        for x, y in s['points']:
            lines.append('| %s | %s | %s |' % (_cell(s['name']), _cell(labels.get(float(x), x)), human(y, unit)))
    return lines
