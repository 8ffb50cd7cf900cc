# SPDX-License-Identifier: GPL-3.0-or-later
"""pgbouncer's [databases] entries pointed at another server: only host and port change, quoted
values, comments and other sections stay, missing keys are added, and hostile addresses are refused."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils import _pgbouncer
from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError, PgopsError

CONF = """;; managed
[databases]
; app = host=old (a comment)
app = host=10.0.0.1 port=5432 dbname=app pool_size=5
odd = dbname='a host=b' host = '10.0.0.1'
* = port=5432
%include /etc/pgbouncer/extra.ini

[pgbouncer]
listen_port = 6432
"""


def test_every_entry_points_at_the_new_server_and_nothing_else_moves():
    new, names = _pgbouncer.retarget(CONF, 'db2.example.com', 5433)
    assert names == ['app', 'odd', '*']
    assert 'app = host=db2.example.com port=5433 dbname=app pool_size=5\n' in new
    assert "odd = port=5433 dbname='a host=b' host = db2.example.com\n" in new
    assert '* = host=db2.example.com port=5433\n' in new
    assert '; app = host=old (a comment)\n' in new and 'listen_port = 6432\n' in new
    assert '%include /etc/pgbouncer/extra.ini\n' in new
    assert _pgbouncer.retarget(new, 'db2.example.com', 5433)[0] == new


def test_an_entry_that_can_not_be_read_changes_nothing():
    with pytest.raises(PgopsError) as err:
        _pgbouncer.retarget('[databases]\napp = host=x dbname=\'unterminated\n', 'db2', 5432)
    assert 'nothing was changed' in err.value.msg


@pytest.mark.parametrize('host, port', [
    ('db2 port=1', 5432), ("db2'", 5432), ('db2\n* = host=evil', 5432), ('', 5432), ('/tmp/a b', 5432),
    ('db2;x', 5432), ('db2', 0), ('db2', 65536),
])
def test_hostile_or_wrong_servers_are_refused(host, port):
    with pytest.raises(ParameterError):
        _pgbouncer.check_server(host, port)
