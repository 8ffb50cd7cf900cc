# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection: a directory of executables in which one command fails.

Put it first on PATH, or give it as a module's bin_dir, and every other command is the real one.
The directory is readable by the postgres user (modules run server tools through runuser).
"""

import os
import shutil
import tempfile


def failing_binary(name, lines, when=None, real_dir=None, base=None):
    """A directory where ``name`` prints ``lines`` on stderr and exits 9 (only when one of its
    arguments equals ``when``, if given; otherwise it runs the real ``name``).

    ``real_dir``: a bin directory whose other entries are linked in (for bin_dir); without it the
    real ``name`` is found on PATH (for PATH). ``base``: create the directory there (removed with
    it) instead of a new temporary directory, which the caller removes.
    """
    if base:
        d = os.path.join(base, 'fault-bin')
        os.mkdir(d)
    else:
        d = tempfile.mkdtemp(prefix='pgops-fault-')
    os.chmod(d, 0o755)
    if real_dir:
        for entry in os.listdir(real_dir):
            if entry != name:
                os.symlink(os.path.join(real_dir, entry), os.path.join(d, entry))
        real = os.path.join(real_dir, name)
    else:
        real = shutil.which(name)
    fail = ''.join('echo %s >&2\n' % _sh_quote(line) for line in lines) + 'exit 9'
    if when is None:
        script = '#!/bin/sh\n%s\n' % fail
    else:
        script = '#!/bin/sh\nfor a in "$@"; do [ "$a" = %s ] && { %s; }; done\nexec %s "$@"\n' % (
            _sh_quote(when), fail.replace('\n', '; '), _sh_quote(real))
    path = os.path.join(d, name)
    with open(path, 'w') as fh:
        fh.write(script)
    os.chmod(path, 0o755)
    return d


def _sh_quote(text):
    return "'%s'" % text.replace("'", "'\\''")
