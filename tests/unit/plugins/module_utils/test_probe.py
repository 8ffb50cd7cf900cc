# SPDX-License-Identifier: GPL-3.0-or-later
from ansible_collections.pgops.postgresql.plugins.module_utils import _probe


def test_parse_log_and_analyze():
    acks, errors = _probe.parse_log('1 100.00\n2 100.02\nE 100.03 server closed the connection\n3 101.50\n4 101.52\n')
    assert [a[0] for a in acks] == [1, 2, 3, 4] and errors == [(100.03, 'server closed the connection')]
    out = _probe.analyze(acks, [1, 2, 3])
    assert out['lost'] == 1 and out['lost_seqs'] == [4] and out['rpo_seconds'] == 0.02
    assert out['max_unavailable_seconds'] == 1.48 and out['unavailable_window'] == [100.02, 101.5]


def test_expect_until_counts_only_commits_before_the_target():
    acks = [(1, 10.0), (2, 11.0), (3, 12.0)]
    out = _probe.analyze(acks, [1], expect_until=10.5)
    assert out['checked'] == 1 and out['lost'] == 0 and out['rpo_seconds'] == 0.0


def test_nothing_acknowledged():
    out = _probe.analyze([], [])
    assert out['acknowledged'] == 0 and out['lost'] == 0 and out['max_unavailable_seconds'] == 0
