# SPDX-License-Identifier: GPL-3.0-or-later
"""Inline SVG plots: well-formed, escaped, no external reference; bad plots are left out."""

import xml.etree.ElementTree as ET

from ansible_collections.pgops.postgresql.plugins.module_utils import _plots

LINE = {'kind': 'line', 'title': 'db1: <data> & "used"', 'unit': 'bytes',
        'series': [{'name': 'used', 'points': [[0, 10], [1, 20], [2, 35]]},
                   {'name': 'forecast', 'dashed': True, 'points': [[2, 35], [10, 100]]}],
        'x_labels': [[0, '2026-11-01'], [10, '2026-11-11']]}
BARS = {'kind': 'bars', 'title': 'top', 'unit': 'ms', 'bars': [['SELECT 1 | x', 1500.0], ['<script>', 20]]}


def test_line_and_bars_are_well_formed_svg_with_their_data():
    for plot, element in ((LINE, 'polyline'), (BARS, 'rect')):
        svg = _plots.svg(plot)
        root = ET.fromstring(svg.replace('<figure class="plot">', '').replace('</figure>', ''))
        assert root.tag.endswith('svg')
        shapes = [e for e in root.iter() if e.tag.endswith(element)]
        assert len(shapes) == (2 if plot is LINE else 2)
        assert '<script>' not in svg and 'href' not in svg and 'url(' not in svg
    assert 'stroke-dasharray' in _plots.svg(LINE) and '1.5 s' in _plots.svg(BARS)


def test_invalid_plots_are_left_out():
    assert _plots.svg({'kind': 'pie'}) == '' and not _plots.valid({'kind': 'line', 'series': [{'points': [['a', 1]]}]})
    assert _plots.svg({'kind': 'bars', 'title': 'empty', 'bars': []}) == ''


def test_markdown_table_keeps_the_numbers_escaped():
    rows = _plots.table(BARS)
    assert rows[2] == '| SELECT 1 \\| x | 1.5 s |' and rows[3] == '| &lt;script&gt; | 20 ms |'
    assert '| used | 2026-11-01 | 10 B |' in _plots.table(LINE)
