# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the reference site into build/docs-site/html (make docs).

antsibull-docs writes the module and role reference from the collection as Ansible finds it
(ANSIBLE_COLLECTIONS_PATH); the Markdown pages of docs/ (index, production, inventory,
architecture, maintenance calendar) and docs/runbooks/ join them as the guide, read by
myst-parser; Sphinx renders the whole with warnings as errors, so a broken link between pages,
a bad reference in a module's documentation or a page left out of every table of contents fails
the build.
"""

import glob
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'build', 'docs-site')
SITE = os.path.join(ROOT, 'docs', 'site')

INDEX = """.. Written by tests/tools/docs_site.py

.. _docsite_root_index:

pgops.postgresql
================

PostgreSQL operations as code: install and secure, audit, back up and prove restorable, recover,
switch over and fail over, and the maintenance calendar, each procedure a runbook and a playbook.

.. toctree::
   :maxdepth: 1
   :caption: Guide

{guide}

.. toctree::
   :maxdepth: 1
   :caption: Guides for the people around the database

{guides}

.. toctree::
   :maxdepth: 1
   :caption: Onboarding

{onboarding}

.. toctree::
   :maxdepth: 1
   :caption: Runbooks

{runbooks}

.. toctree::
   :maxdepth: 2
   :caption: Reference

   collections/pgops/postgresql/index

.. toctree::
   :maxdepth: 1
   :caption: Indexes
   :glob:

   collections/index
   collections/index_*
   collections/environment_variables
   ansible
"""

# Labels the generated pages point at in Ansible's own documentation (an offline build has no
# intersphinx inventory): a page here that links out to them.
ANSIBLE = """.. Written by tests/tools/docs_site.py

Ansible's own documentation
===========================

.. _common_return_values:

Common return values
--------------------

Besides the values each module page lists, every module returns Ansible's common ones
(``changed``, ``failed``, ``msg``, ``skipped``, ...):
https://docs.ansible.com/projects/ansible/latest/reference_appendices/common_return_values.html

.. _ansible_configuration_settings:

Configuration settings
----------------------

Ansible's configuration (``ansible.cfg``, environment variables):
https://docs.ansible.com/projects/ansible/latest/reference_appendices/config.html.
docs/production.md says which settings a production controller of this collection uses.
"""

# The guide's pages in reading order; any other page of docs/ comes after them.
GUIDE_ORDER = ['index', 'production', 'inventory', 'maintenance-calendar', 'architecture']


def run(argv):
    """Run a tool; an ERROR line on its output fails the build (antsibull-docs reports a module whose
    documentation it can not read as an error, writes an error page and exits 0)."""
    print('+ ' + ' '.join(argv), flush=True)
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout + proc.stderr)
    if proc.returncode != 0 or 'ERROR' in proc.stdout + proc.stderr:
        raise SystemExit('%s failed (exit %d)' % (argv[0], proc.returncode))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    rst = os.path.join(OUT, 'rst')
    os.makedirs(rst)
    os.chmod(rst, 0o755)  # antsibull-docs wants a directory only its owner writes
    run(['antsibull-docs', '--config-file', os.path.join(SITE, 'antsibull-docs.cfg'), 'collection', '--use-current',
         '--cleanup', 'everything', '--dest-dir', rst, 'pgops.postgresql'])
    guide = os.path.join(rst, 'guide')
    os.makedirs(os.path.join(guide, 'runbooks'))
    pages = sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(ROOT, 'docs', '*.md')))
    for name in pages:
        shutil.copy(os.path.join(ROOT, 'docs', name + '.md'), os.path.join(guide, name + '.md'))
    runbooks = sorted(os.path.splitext(os.path.basename(p))[0]
                      for p in glob.glob(os.path.join(ROOT, 'docs', 'runbooks', '*.md')))
    for name in runbooks:
        shutil.copy(os.path.join(ROOT, 'docs', 'runbooks', name + '.md'), os.path.join(guide, 'runbooks', name + '.md'))
    os.makedirs(os.path.join(guide, 'guides'))
    guides = sorted(os.path.splitext(os.path.basename(p))[0]
                    for p in glob.glob(os.path.join(ROOT, 'docs', 'guides', '*.md')))
    for name in guides:
        shutil.copy(os.path.join(ROOT, 'docs', 'guides', name + '.md'), os.path.join(guide, 'guides', name + '.md'))
    os.makedirs(os.path.join(guide, 'onboarding'))
    onboarding = ['README', 'labs']
    for name in onboarding:
        shutil.copy(os.path.join(ROOT, 'docs', 'onboarding', name + '.md'), os.path.join(guide, 'onboarding', name + '.md'))
    ordered = [p for p in GUIDE_ORDER if p in pages] + [p for p in pages if p not in GUIDE_ORDER]
    with open(os.path.join(rst, 'index.rst'), 'w') as fh:
        fh.write(INDEX.format(guide='\n'.join('   guide/%s' % p for p in ordered),
                              guides='\n'.join('   guide/guides/%s' % p for p in guides),
                              onboarding='\n'.join('   guide/onboarding/%s' % p for p in onboarding),
                              runbooks='\n'.join('   guide/runbooks/%s' % p for p in runbooks)))
    with open(os.path.join(rst, 'ansible.rst'), 'w') as fh:
        fh.write(ANSIBLE)
    run(['sphinx-build', '-q', '-W', '--keep-going', '-b', 'html', '-c', SITE, rst, os.path.join(OUT, 'html')])
    html = os.path.join(OUT, 'html')
    expected = ['collections/pgops/postgresql/%s_module.html' % os.path.splitext(os.path.basename(p))[0]
                for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')) if not p.endswith('__init__.py')]
    expected += ['collections/pgops/postgresql/%s_role.html' % os.path.basename(p)
                 for p in glob.glob(os.path.join(ROOT, 'roles', '*')) if os.path.isdir(p)]
    expected += ['guide/%s.html' % p for p in pages] + ['guide/runbooks/%s.html' % p for p in runbooks]
    expected += ['guide/guides/%s.html' % p for p in guides]
    expected += ['guide/onboarding/README.html', 'guide/onboarding/labs.html']
    missing = [p for p in expected if not os.path.exists(os.path.join(html, p))]
    if missing:
        print('the site lacks pages: %s' % ', '.join(missing))
        return 1
    print('reference site: %s (%d modules and roles, %d guide pages, %d runbooks)' % (
        os.path.join(OUT, 'html', 'index.html'),
        len(glob.glob(os.path.join(rst, 'collections', 'pgops', 'postgresql', '*_*.rst'))), len(pages), len(runbooks)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
