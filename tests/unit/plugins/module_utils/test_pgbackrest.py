# SPDX-License-Identifier: GPL-3.0-or-later
import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbackrest as pgbr
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ToolError

CORRUPT = """2026-11-24 08:01:08.409 P00   INFO: verify command begin 2.45: --stanza=demo
2026-11-24 08:01:08.550 P01   INFO: invalid checksum '20261124-080104F/pg_data/postgresql.conf.lz4'
2026-11-24 08:01:08.550 P00   INFO: stanza: demo
                                    status: error
                                      backup: 20261124-080104F, status: invalid, total files checked: 964, total valid files: 963
                                        checksum invalid: 1
2026-11-24 08:01:08.551 P00   INFO: verify command end: completed successfully (144ms)
"""

GAP = """2026-11-24 08:03:51.952 P00 DETAIL: archiveId: 15-1, wal start: 000000010000000000000001, wal stop: 000000010000000000000005
2026-11-24 08:03:51.952 P00 DETAIL: archiveId: 15-1, wal start: 000000010000000000000007, wal stop: 000000010000000000000007
"""


def test_argv_never_builds_a_shell_string():
    options = {'type': 'full', 'process-max': 2, 'delta': True, 'archive-mode': None}
    assert pgbr.argv('backup', 'main', '/etc/pgbackrest/pgbackrest.conf', options) == [
        'pgbackrest', '--config=/etc/pgbackrest/pgbackrest.conf', '--stanza=main', '--delta', '--process-max=2',
        '--type=full', 'backup']


def test_verify_output_names_the_damaged_file_even_though_it_exits_0():
    result = pgbr.parse_verify(CORRUPT)
    assert result['status'] == 'error'
    assert result['problems'][0] == {'kind': 'invalid checksum', 'file': '20261124-080104F/pg_data/postgresql.conf.lz4',
                                     'backup': '20261124-080104F'}
    assert {'kind': 'backup invalid', 'file': None, 'backup': '20261124-080104F'} in result['problems']


def test_wal_gap_between_ranges():
    result = pgbr.parse_verify(GAP)
    assert result['wal_gaps'] == [{'archive_id': '15-1', 'first': '000000010000000000000006',
                                   'last': '000000010000000000000006', 'segments': 1}]
    assert result['status'] == 'error'


def test_gap_across_a_log_boundary():
    gaps = pgbr.wal_gaps([{'archive_id': '15-1', 'start': '0000000100000000000000FD', 'stop': '0000000100000000000000FE'},
                          {'archive_id': '15-1', 'start': '000000010000000100000001', 'stop': '000000010000000100000002'}])
    assert gaps[0]['first'] == '0000000100000000000000FF' and gaps[0]['last'] == '000000010000000100000000'
    assert gaps[0]['segments'] == 2


def test_clean_verify_and_bad_info():
    assert pgbr.parse_verify('INFO: verify command end: completed successfully')['status'] == 'ok'
    with pytest.raises(ToolError):
        pgbr.parse_info('not json')


def _gap_stanza(starts):
    return {'name': 'demo', 'status': {'code': 0}, 'backup': [
        {'label': 'b%d' % n, 'type': 'full', 'error': False, 'timestamp': {'start': 100 * n, 'stop': 100 * n + 10},
         'archive': {'start': start, 'stop': start}, 'info': {'repository': {'size': 1000}}} for n, start in enumerate(starts)]}


@pytest.mark.parametrize('first, last, severity', [
    ('000000010000000000000002', '000000010000000000000003', None),  # older than every backup kept
    ('000000010000000000000006', '000000010000000000000006', 'warning'),  # between the two backups
    ('000000010000000000000009', '00000001000000000000000A', 'critical'),  # after the newest backup's start
    ('000000020000000000000009', '000000020000000000000009', 'critical'),  # on the next timeline, by position
])
def test_an_archive_gap_is_critical_only_when_the_newest_backup_needs_it(first, last, severity):
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import backup
    stanza = _gap_stanza(['000000010000000000000004', '000000010000000000000008'])
    verify = {'wal_gaps': [{'archive_id': '15-1', 'first': first, 'last': last, 'segments': 1}], 'problems': []}
    found = [f for f in backup.evaluate(stanza, 300, backup.validate_thresholds({}), verify=verify)
             if f['id'] == 'backup.archive_gap']
    assert [f['severity'] for f in found] == ([severity] if severity else [])


def test_an_archive_gap_without_any_backup_is_critical():
    from ansible_collections.pgops.postgresql.plugins.module_utils._checks import backup
    verify = {'wal_gaps': [{'archive_id': '15-1', 'first': '000000010000000000000002',
                            'last': '000000010000000000000003', 'segments': 2}], 'problems': []}
    found = [f for f in backup.evaluate(_gap_stanza([]), 300, backup.validate_thresholds({}), verify=verify)
             if f['id'] == 'backup.archive_gap']
    assert [f['severity'] for f in found] == ['critical']
