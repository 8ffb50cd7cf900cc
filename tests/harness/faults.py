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


FAULT_VARIABLE = 'PGOPS_FAULT_AT'


def each_step_fails(run, snapshot, limit=40):
    """Make each step of a change fail in turn, then let it succeed.

    ``run(env)`` runs the module (raising ModuleFailed when it fails); ``snapshot()`` returns the
    state that must be the same after every failure (files, running state, served values). Step
    ``i`` reports a failure right after it did its work (``PGOPS_FAULT_AT=i``), as a lost connection
    or a timeout would. Each failure must name the injected fault, say what was put back, and leave
    the snapshot as it was before; the first ``i`` past the last step is a full, successful run.

    Returns (the failures' results, the successful run's result).
    """
    from tests.harness.pgcluster import ModuleFailed
    before = snapshot()
    failures = []
    for i in range(1, limit + 1):
        try:
            done = run({FAULT_VARIABLE: str(i)})
        except ModuleFailed as err:
            msg = err.result['msg']
            assert 'injected fault after the step' in msg, 'step %d failed for another reason: %s' % (i, msg)
            after = snapshot()
            assert after == before, 'after a fault at step %d (%s) the state is not the previous one:\n%s\n%s' % (
                i, msg, before, after)
            failures.append(err.result)
            continue
        assert len(done.get('steps', [])) == i - 1, (i, done.get('steps'))
        return failures, done
    raise AssertionError('more than %d steps' % limit)
