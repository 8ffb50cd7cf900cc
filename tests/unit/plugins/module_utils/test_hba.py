# SPDX-License-Identifier: GPL-3.0-or-later
"""No value can change the structure of pg_hba.conf: hostile inputs are refused or neutralised."""

import pytest

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._hba import normalize, render

BASE = dict(type='hostssl', database='app', user='app', address='10.0.0.0/8', method='scram-sha-256')
INJECTED = 'host all all 0.0.0.0/0 trust'

HOSTILE = [
    ('options', 'clientcert=verify-full\n' + INJECTED),
    ('options', 'clientcert=verify-full\r' + INJECTED),
    ('options', {'clientcert': 'verify-full\n' + INJECTED}),
    ('options', {'map': 'x" ' + INJECTED + ' "'}),
    ('options', {'bad key': 'x'}),
    ('options', {'map\nhost': 'x'}),
    ('options', 'clientcert=verify-full # ' + INJECTED),
    ('options', 'map="unterminated'),
    ('database', '"app\n' + INJECTED + '"'),
    ('database', 'app\n' + INJECTED),
    ('user', '/^a\n' + INJECTED),
    ('user', '/^a b'),
    ('user', 'app,all # x'),
    ('address', '10.0.0.0/8\n' + INJECTED),
    ('address', 'db.example.com\nlocal'),
    ('address', 'db.example.com ' + INJECTED),
]


@pytest.mark.parametrize('key,value', HOSTILE)
def test_hostile_values_are_refused_naming_the_field(key, value):
    with pytest.raises(ParameterError) as err:
        normalize([dict(BASE, **{key: value})])
    assert "parameter 'rules[0]" in str(err.value) and 'Fix:' in str(err.value)


def test_a_comment_can_not_start_a_rule():
    rules = normalize([dict(BASE, comment='app servers\n' + INJECTED)])
    text = render(rules, 'header')
    assert INJECTED not in [line.strip() for line in text.splitlines()]
    assert len(text.splitlines()) == 1 + 1 + 2  # header, column titles, comment, rule


def test_option_values_are_quoted_and_keys_kept():
    rules = normalize([dict(BASE, options={'clientcert': 'verify-full', 'map': 'ops team'}),
                       dict(BASE, options='clientcert=verify-full map="ops team"')])
    assert rules[0]['options'] == rules[1]['options'] == 'clientcert=verify-full map="ops team"'
    assert render(rules, 'h').count('\n') == 4
