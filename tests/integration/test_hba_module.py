# SPDX-License-Identifier: GPL-3.0-or-later
"""hba module on a real cluster: validated rules, server check, reload, and what clients see."""

import os

import psycopg2
import pytest

from tests.harness.faults import each_step_fails
from tests.harness.pgcluster import ModuleFailed, run_module

BASE = [
    {'type': 'local', 'method': 'trust'},
    {'type': 'host', 'address': '127.0.0.1/32', 'method': 'scram-sha-256'},
]


def args(c, rules, **extra):
    a = c.login(path=os.path.join(c.data_dir, 'pg_hba.conf'), rules=rules, owner='postgres', group='postgres')
    a.update(extra)
    return a


def tcp_login(c, password):
    conn = psycopg2.connect(host='127.0.0.1', port=c.port, user='postgres', password=password, dbname='postgres',
                            sslmode='disable', connect_timeout=5)
    conn.close()


def test_reject_rule_takes_effect_in_four_steps(fresh_cluster):
    c = fresh_cluster
    tcp_login(c, c.password)
    rules = [BASE[0], {'type': 'host', 'address': '127.0.0.1', 'method': 'reject', 'comment': 'no TCP'}] + BASE[1:]
    a = args(c, rules)
    planned = run_module('hba', a, check_mode=True, diff=True)
    assert planned['changed'] and not planned['reloaded']
    assert '127.0.0.1/32' in planned['diff']['after'] and '# no TCP' in planned['diff']['after']
    tcp_login(c, c.password)  # check mode changed nothing
    done = run_module('hba', a)
    assert done['changed'] and done['reloaded']
    with pytest.raises(psycopg2.OperationalError, match='rejects connection'):
        tcp_login(c, c.password)
    assert not run_module('hba', a, check_mode=True)['changed']
    assert not run_module('hba', a)['changed']
    assert oct(os.stat(a['path']).st_mode & 0o777) == '0o640'


@pytest.mark.parametrize('rule,words', [
    ({'type': 'host', 'address': '10.0.0.300/8', 'method': 'reject'}, "parameter 'rules[1].address'"),
    ({'type': 'host', 'address': '10.0.0.1/8', 'method': 'reject'}, 'host bits zero'),
    ({'type': 'host', 'address': 'bad address!', 'method': 'reject'}, 'neither a network'),
    ({'type': 'host', 'method': 'reject'}, 'needs an address'),
    ({'type': 'local', 'address': '10.0.0.0/8'}, 'takes no address'),
    ({'type': 'hostssl', 'address': 'all', 'method': 'md6'}, 'unknown method'),
    ({'type': 'tcp', 'address': 'all'}, 'unknown type'),
    ({'type': 'host', 'address': 'all', 'method': 'peer'}, 'peer works only on local'),
    ({'type': 'host', 'address': 'all', 'user': 'bad user'}, 'not a valid name'),
])
def test_bad_rules_are_refused_and_the_file_is_untouched(cluster, rule, words):
    a = args(cluster, [BASE[0], rule])
    before = open(a['path']).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('hba', a)
    assert words in err.value.result['msg'] and 'Fix:' in err.value.result['msg']
    assert open(a['path']).read() == before


def test_rule_the_server_rejects_is_rolled_back(fresh_cluster):
    c = fresh_cluster
    a = args(c, BASE + [{'type': 'hostssl', 'address': 'all', 'method': 'ldap', 'options': 'nonsense=1'}])
    before = open(a['path']).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('hba', a)
    assert 'the server rejected' in err.value.result['msg']
    assert open(a['path']).read() == before


def test_weak_methods_warn(cluster, tmp_path):
    result = run_module('hba', dict(path=str(tmp_path / 'pg_hba.conf'), reload=False, owner='root', group='root',
                                    rules=[{'type': 'host', 'address': '0.0.0.0/0', 'method': 'trust'},
                                           {'type': 'host', 'address': '::/0', 'method': 'md5'}]))
    assert len(result['warnings']) == 2


def test_rules_that_lock_out_the_modules_own_login_are_put_back(fresh_cluster):
    """The module logs in over the unix socket: rules without a local line would lock it out."""
    c = fresh_cluster
    a = args(c, [{'type': 'host', 'address': '127.0.0.1/32', 'method': 'scram-sha-256'}])
    before = open(a['path']).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('hba', a)
    msg = err.value.result['msg']
    assert "own login (postgres) is refused" in msg and 'Put back: the previous' in msg, msg
    assert 'previous rules are loaded again' in msg
    assert open(a['path']).read() == before
    assert c.psql('SELECT 1') == '1'  # a new local login works: the previous rules are live
    assert c.psql('SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL') == '0'


def test_a_login_that_fails_leaves_the_file_untouched(fresh_cluster):
    c = fresh_cluster
    a = args(c, BASE + [{'type': 'host', 'address': '10.0.0.0/8', 'method': 'reject'}], login_user='nobody')
    before = open(a['path']).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('hba', a)
    assert 'nobody' in err.value.result['msg']
    assert open(a['path']).read() == before


def test_an_injected_rule_never_reaches_the_file(fresh_cluster):
    c = fresh_cluster
    evil = {'type': 'host', 'address': '127.0.0.1/32', 'method': 'scram-sha-256',
            'options': {'clientcert': 'verify-ca\nhost all all 0.0.0.0/0 trust'}}
    a = args(c, BASE + [evil])
    before = open(a['path']).read()
    with pytest.raises(ModuleFailed) as err:
        run_module('hba', a)
    assert "parameter 'rules[2].options.clientcert'" in err.value.result['msg']
    assert open(a['path']).read() == before


def test_each_step_fails_in_turn_and_is_put_back(fresh_cluster):
    c = fresh_cluster
    a = args(c, BASE)
    run_module('hba', a)

    def snapshot():
        with open(a['path']) as fh:
            text = fh.read()
        try:
            tcp_login(c, c.password)  # the loaded rules (pg_hba_file_rules shows the file on disk)
            admitted = True
        except psycopg2.OperationalError:
            admitted = False
        return text, admitted
    rules = [BASE[0], {'type': 'host', 'address': '127.0.0.1', 'method': 'reject'}] + BASE[1:]
    failures, done = each_step_fails(lambda env: run_module('hba', args(c, rules), env=env), snapshot)
    assert len(failures) == 4 and done['changed'] and done['reloaded']
    assert [f['msg'].split('(')[-1].split(')')[0] for f in failures] == [
        'the new rules were never loaded', 'the new rules were never loaded',
        'the previous rules are loaded again', 'the previous rules are loaded again']
    with pytest.raises(psycopg2.OperationalError, match='rejects connection'):
        tcp_login(c, c.password)
