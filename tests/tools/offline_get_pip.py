# SPDX-License-Identifier: GPL-3.0-or-later
"""Provide ansible-test's pip bootstrap script without its download host.

ansible-test bootstraps pip in its sanity virtual environments with a get-pip
script it downloads from a host that is not reachable here. It looks for a
cached copy first (~/.ansible/test/cache/get_pip_<version>.py). This writes
that copy: a small script that installs the requested packages from PyPI with
the pip wheel bundled in CPython's ensurepip, as get-pip does.
"""

import glob
import os
import re
import sys

import ansible_test._internal.python_requirements as reqs

SCRIPT = '''# Written by tests/tools/offline_get_pip.py (stands in for get-pip.py).
import glob
import os
import sys

import ensurepip

wheel = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))[-1]
sys.path.insert(0, wheel)
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install', '--upgrade', '--force-reinstall'] + args))
'''


def pip_versions():
    """Every pip version ansible-test may bootstrap (one per supported Python)."""
    source = open(reqs.__file__).read()
    return sorted(set(re.findall(r"pip='([0-9.]+)'", source)))


def main():
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    versions = pip_versions()
    if not versions:
        print('offline_get_pip: no pip version found in ansible-test; nothing written')
        return 0
    for version in versions:
        path = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
        if not os.path.exists(path) or open(path).read() != SCRIPT:
            with open(path, 'w') as fh:
                fh.write(SCRIPT)
    assert glob.glob(os.path.join(os.path.dirname(__import__('ensurepip').__file__), '_bundled', 'pip-*.whl'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
