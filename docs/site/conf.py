# SPDX-License-Identifier: GPL-3.0-or-later
# Sphinx configuration of the reference site (make docs): the module and role reference that
# antsibull-docs writes from the collection, and the Markdown pages of docs/ (runbooks, calendar,
# architecture, production) read with myst-parser. Built offline: no intersphinx inventories.
project = 'pgops.postgresql'
title = 'pgops.postgresql: PostgreSQL operations as code'
html_short_title = 'pgops.postgresql'

extensions = ['sphinx_antsibull_ext', 'myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_theme_options = {'documentation_home_url': 'index.html', 'topbar_links': {}, 'show_extranav': False}

default_role = 'any'
nitpicky = True
