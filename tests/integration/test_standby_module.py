# SPDX-License-Identifier: GPL-3.0-or-later
"""standby against a real primary: a cluster becomes a streaming standby in one task, a second run
changes nothing, refusals are named, and a failure at each step puts everything back."""

import os

import pytest

from tests.harness.faults import each_step_fails, failing_binary
from tests.harness.pgcluster import ModuleFailed, PgCluster, run_module, wait_for
from tests.harness.replication import REPLICATION_PASSWORD, ReplicaSet


@pytest.fixture()
def primary():
    rs = ReplicaSet(standbys=0)
    yield rs
    rs.destroy()


def args(rs, node, **extra):
    a = dict(data_dir=node.data_dir, bin_dir=node.bin_dir, service_manager='pg_ctl', primary_host='127.0.0.1',
             primary_port=rs.nodes['n1'].port, application_name='Node-2', replication_password=REPLICATION_PASSWORD,
             replication_ca_cert=rs.ca_file, login_unix_socket=node.socket_dir, login_port=node.port,
             login_user='postgres', timeout=60)
    a.update(extra)
    return a


def slots(rs):
    return rs.nodes['n1'].psql('SELECT slot_name FROM pg_replication_slots ORDER BY 1')


def test_a_new_cluster_becomes_a_streaming_standby_in_one_task(primary):
    rs = primary
    rs.nodes['n1'].psql('CREATE TABLE before_copy AS SELECT 42 AS v')
    node = PgCluster(bin_dir=rs.nodes['n1'].bin_dir)
    node.init()  # its own configuration (port, socket), no data of value, stopped
    try:
        # refused: a cluster that is not a standby, without replace_data
        with pytest.raises(ModuleFailed) as err:
            run_module('standby', args(rs, node))
        assert 'replace_data=true' in err.value.result['msg'] and 'Nothing was changed' in err.value.result['msg']
        assert slots(rs) == ''
        planned = run_module('standby', args(rs, node, replace_data=True), check_mode=True, diff=True)
        assert planned['changed'] and slots(rs) == '' and not os.path.exists(os.path.join(node.data_dir,
                                                                                          'standby.signal'))
        assert 'password=********' in planned['diff']['after'] and REPLICATION_PASSWORD not in str(planned)
        done = run_module('standby', args(rs, node, replace_data=True))
        assert done['changed'] and done['copied'] and done['slot_created'] and done['slot_name'] == 'node_2'
        assert [s.split(' ')[0] for s in done['plan']] == [s.split(' ')[0] for s in planned['plan']]
        assert REPLICATION_PASSWORD not in str(done['commands'])
        assert node.psql('SELECT pg_is_in_recovery()') == 't'
        assert node.psql('SELECT v FROM before_copy') == '42'
        assert node.psql("SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'") == str(
            rs.nodes['n1'].port)
        # the node kept its own configuration (its port), and nothing is left beside the data directory
        assert node.psql('SHOW port') == str(node.port)
        parent = os.path.dirname(node.data_dir)
        assert not [n for n in os.listdir(parent) if 'pgops-' in n]
        # idempotent, in check mode too
        assert run_module('standby', args(rs, node), check_mode=True)['changed'] is False
        again = run_module('standby', args(rs, node))
        assert again['changed'] is False and not again['copied'] and not again['slot_created']
        # a changed connection setting is written and reloaded, not copied again
        moved = run_module('standby', args(rs, node, replication_ssl_mode='verify-ca'))
        assert moved['changed'] and not moved['copied'] and 'reload the standby' in moved['plan']
        assert 'sslmode=verify-ca' in node.psql('SHOW primary_conninfo')
    finally:
        node.destroy()


def test_a_running_cluster_is_refused_without_stop_running(primary):
    rs = primary
    node = PgCluster(bin_dir=rs.nodes['n1'].bin_dir).start()
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('standby', args(rs, node, replace_data=True))
        assert 'stop_running=true' in err.value.result['msg'] and node.is_running()
        assert slots(rs) == ''
    finally:
        node.destroy()


@pytest.mark.parametrize('fault', ['copy', 'start', 'stream'])
def test_a_failure_at_each_step_puts_the_previous_cluster_back(primary, fault):
    """Faults after the slot was made and the running cluster stopped: all of it is put back."""
    rs = primary
    first = rs.nodes['n1']
    node = PgCluster(bin_dir=first.bin_dir).start()
    node.psql('CREATE TABLE mine AS SELECT 7 AS v')
    extra = dict(replace_data=True, stop_running=True, timeout=8)
    if fault == 'copy':
        extra['bin_dir'] = failing_binary('pg_basebackup', ['pg_basebackup: error: injected failure'],
                                          real_dir=first.bin_dir, base=node.base)
    elif fault == 'start':
        # the copy brings the primary's postgresql.auto.conf: a library no server has stops its start
        first.psql("ALTER SYSTEM SET shared_preload_libraries = 'no_such_library'")
    else:
        # the copy starts, but as a standby that accepts no connection: it never shows it streams
        first.psql('ALTER SYSTEM SET hot_standby = off')
    try:
        with pytest.raises(ModuleFailed) as err:
            run_module('standby', args(rs, node, **extra))
        msg = err.value.result['msg']
        assert 'Put back:' in msg and 'is running' in msg, msg
        assert {'copy': 'injected failure', 'start': 'failed', 'stream': 'did not happen'}[fault] in msg, msg
        assert slots(rs) == '', msg
        assert not [n for n in os.listdir(os.path.dirname(node.data_dir)) if 'pgops-' in n], msg
        assert not os.path.exists(os.path.join(node.data_dir, 'standby.signal')), msg
        assert node.is_running() and node.psql('SELECT v FROM mine') == '7'
        assert node.psql('SELECT pg_is_in_recovery()') == 'f'
    finally:
        first.psql('ALTER SYSTEM RESET ALL')
        node.destroy()


def _standby_state(rs, node):
    def snapshot():
        running = node.is_running()
        with open(os.path.join(node.data_dir, 'postgresql.auto.conf')) as fh:
            auto = fh.read()
        return dict(
            running=running, slots=slots(rs), auto=auto,
            signal=os.path.exists(os.path.join(node.data_dir, 'standby.signal')),
            beside=sorted(n for n in os.listdir(os.path.dirname(node.data_dir)) if 'pgops-' in n),
            recovery=node.psql('SELECT pg_is_in_recovery()') if running else None,
            mine=node.psql("SELECT string_agg(v::text, ',') FROM mine") if running else None,
            conninfo=node.psql("SELECT regexp_replace(setting, 'password=\\S+', '') FROM pg_settings "
                               "WHERE name = 'primary_conninfo'") if running else None)
    return snapshot


def test_each_step_of_a_copy_fails_in_turn_and_is_put_back(primary):
    """A running primary of its own becomes a standby: slot, stop, copy, swap, start, wait, each
    failing after it did its work, leave the previous cluster running with its data."""
    rs = primary
    node = PgCluster(bin_dir=rs.nodes['n1'].bin_dir).start()
    node.psql('CREATE TABLE mine AS SELECT 7 AS v')
    try:
        a = args(rs, node, replace_data=True, stop_running=True, timeout=30)
        failures, done = each_step_fails(lambda env: run_module('standby', a, env=env), _standby_state(rs, node))
        assert [f['steps'][-1]['step'].split(' ')[0] for f in failures] == [
            'slot', 'stop', 'pg_basebackup', 'swap', 'start', 'wait']
        assert all('is running' in f['msg'] for f in failures), [f['msg'] for f in failures]
        assert done['copied'] and node.psql('SELECT pg_is_in_recovery()') == 't'
    finally:
        node.destroy()


def test_each_step_of_a_conninfo_change_fails_in_turn_and_is_put_back(primary):
    rs = primary
    node = PgCluster(bin_dir=rs.nodes['n1'].bin_dir)
    node.init()
    try:
        run_module('standby', args(rs, node, replace_data=True))
        rs.nodes['n1'].psql('CREATE TABLE mine AS SELECT 8 AS v')
        # the state compared after each failure reads the table on the standby: wait until it has replayed it
        assert wait_for(lambda: node.psql("SELECT to_regclass('mine') IS NOT NULL") == 't', 30)
        a = args(rs, node, replication_ssl_mode='verify-ca')
        failures, done = each_step_fails(lambda env: run_module('standby', a, env=env), _standby_state(rs, node))
        assert [f['steps'][-1]['step'].split(' ')[0] for f in failures] == ['slot', 'write', 'reload', 'wait']
        assert 'sslmode=verify-ca' in node.psql('SHOW primary_conninfo') and done['changed']
    finally:
        node.destroy()
