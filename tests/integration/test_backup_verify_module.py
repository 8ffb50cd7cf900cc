# SPDX-License-Identifier: GPL-3.0-or-later
"""backup_verify with real pgBackRest on a local repository."""

import glob
import os
import time

import pytest

from tests.harness.pgbackrest import Stanza
from tests.harness.pgcluster import ModuleFailed, run_module


@pytest.fixture()
def stanza():
    s = Stanza().start()
    yield s
    s.destroy()


def problems(result):
    return sorted((f['id'], f['severity']) for f in result['findings'] if f['severity'] in ('warning', 'critical'))


def test_no_backup_then_a_healthy_backup(stanza):
    result = run_module('backup_verify', stanza.module_args())
    assert ('backup.none', 'critical') in problems(result)
    stanza.backup('full')
    result = run_module('backup_verify', stanza.module_args())
    assert problems(result) == []
    assert [b['type'] for b in result['backups']] == ['full']
    assert [c[-1] for c in result['commands']] == ['info', 'check', 'verify']


def test_corrupted_repository_file_is_named(stanza):
    stanza.backup('full')
    label = run_module('backup_verify', stanza.module_args(run_check=False))['backups'][0]['label']
    victim = sorted(glob.glob(os.path.join(stanza.repo, 'backup', stanza.name, label, 'pg_data', 'base', '*', '*')))[0]
    with open(victim, 'r+b') as fh:
        fh.seek(20)
        fh.write(b'corrupted by the test')
    result = run_module('backup_verify', stanza.module_args(run_check=False))
    damaged = [f for f in result['findings'] if f['id'] == 'backup.verify']
    rel = os.path.relpath(victim, os.path.join(stanza.repo, 'backup', stanza.name))
    assert ('critical', '%s %s' % (stanza.name, rel), 'invalid checksum') in [
        (f['severity'], f['object'], f['observed']) for f in damaged]
    assert ('critical', '%s %s' % (stanza.name, label), 'backup invalid') in [
        (f['severity'], f['object'], f['observed']) for f in damaged]


def test_missing_wal_segment_is_a_gap(stanza):
    stanza.backup('full')
    for i in range(3):
        stanza.cluster.psql('SELECT pg_switch_wal(); CREATE TABLE t%d (i int);' % i)
    time.sleep(2)
    segments = sorted(glob.glob(os.path.join(stanza.repo, 'archive', stanza.name, '*', '*', '0000*')))
    os.unlink(segments[-2])
    result = run_module('backup_verify', stanza.module_args(run_check=False))
    gap = [f for f in result['findings'] if f['id'] == 'backup.archive_gap']
    assert gap and gap[0]['severity'] == 'critical'
    assert os.path.basename(segments[-2])[:24] in gap[0]['observed']


def test_old_full_backup(stanza):
    stanza.backup('full')
    result = run_module('backup_verify', stanza.module_args(thresholds={'full_max_age_hours': 0.0001}))
    assert ('backup.full_age', 'critical') in problems(result)


@pytest.mark.parametrize('extra,words', [
    ({'stanza': 'nope'}, "parameter 'stanza': 'nope' is not in the repository"),
    ({'config': '/nonexistent/pgbackrest.conf'}, "parameter 'config'"),
    ({'thresholds': {'full_max_age_hours': 'a week'}}, "parameter 'thresholds.full_max_age_hours'"),
    ({'waivers': [{'id': 'backup.nope', 'reason': 'r', 'expires': '2099-01-01'}]}, 'matches no check'),
])
def test_bad_input(stanza, extra, words):
    with pytest.raises(ModuleFailed) as err:
        run_module('backup_verify', stanza.module_args(**extra))
    assert words in err.value.result['msg'] and 'Fix:' in err.value.result['msg']


def test_missing_repository_path_is_explained(stanza, tmp_path):
    broken = tmp_path / 'pgbackrest.conf'
    broken.write_text(open(stanza.config).read().replace(stanza.repo, '/nonexistent/pgops-repo'))
    os.chmod(broken, 0o644)
    os.chmod(tmp_path, 0o755)
    with pytest.raises(ModuleFailed) as err:
        run_module('backup_verify', stanza.module_args(config=str(broken)))
    msg = err.value.result['msg']
    assert msg.startswith('pgbackrest info failed') or "is not in the repository" in msg
    assert 'Fix:' in msg


def test_wrong_cipher_pass_is_explained(tmp_path):
    s = Stanza(name='secret')
    with open(s.config) as fh:
        text = fh.read()
    with open(s.config, 'w') as fh:
        fh.write(text.replace('[global]\n', '[global]\nrepo1-cipher-type=aes-256-cbc\n'
                                            'repo1-cipher-pass=correct-horse-battery-staple\n'))
    try:
        s.start()
        s.backup('full')
        wrong = text.replace('[global]\n', '[global]\nrepo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=wrong-pass\n')
        with open(s.config, 'w') as fh:
            fh.write(wrong)
        # pgBackRest either prints unreadable output (the module fails and names the cipher pass)
        # or reports the decryption error in the stanza status (a critical finding): never silence
        try:
            result = run_module('backup_verify', s.module_args(run_check=False))
        except ModuleFailed as err:
            assert 'repo1-cipher-pass' in err.result['msg'] and 'Fix:' in err.result['msg']
        else:
            status = [f for f in result['findings'] if f['id'] == 'backup.stanza_status']
            assert status and status[0]['severity'] == 'critical', result['findings']
    finally:
        s.destroy()
