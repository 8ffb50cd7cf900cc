# SPDX-License-Identifier: GPL-3.0-or-later
"""A corpus of bad and hostile inputs, run against every module on a real cluster.

Each case must fail with a message that names the parameter (or says what to fix), never with a
traceback, and must change nothing: the cluster's configuration files are compared byte for byte
after every case, and the server, its roles, tables and slots after the whole corpus.
The hostile strings are the classes that could change the structure of a file or a statement:
a newline carrying a whole pg_hba rule or setting, a quote closing a literal, a comment, a
control character, a NUL.
"""

import hashlib
import json
import os
import shutil
import tempfile

import pytest

from tests.harness import certs
from tests.harness.pgcluster import ROOT, ModuleFailed, PgCluster, run_module

NL_RULE = 'x\nhost all all 0.0.0.0/0 trust'
NL_SETTING = "4MB\nshared_preload_libraries = 'evil'"
QUOTE = "x'; DROP TABLE corpus_canary; --"
DQUOTE = 'x"y'
COMMENT = 'x # y'
CTRL = 'x\x01y'
NUL = 'x\x00y'
HOSTILE = [NL_RULE, QUOTE, DQUOTE, COMMENT, CTRL]


@pytest.fixture(scope='module')
def corpus():
    c = PgCluster(settings={'autovacuum': 'off'}).start()
    c.psql('CREATE TABLE corpus_canary (i int)')
    ca_cert, ca_key = certs.ca()
    cert, key = certs.server(ca_cert, ca_key)
    scratch = tempfile.mkdtemp(prefix='pgops-corpus-')
    os.chmod(scratch, 0o755)
    env = dict(c=c, cert=certs.cert_pem(cert).decode(), key=certs.key_pem(key).decode(), scratch=scratch)
    yield env
    shutil.rmtree(scratch, ignore_errors=True)
    c.destroy()


def _facts_file(scratch):
    """A facts file of schema_doc with one empty database."""
    path = os.path.join(scratch, 'schema-facts.json')
    kinds = ('schemas', 'relations', 'columns', 'constraints', 'indexes', 'functions', 'triggers', 'sequences',
             'extensions', 'policies', 'view_reads')
    with open(path, 'w') as fh:
        json.dump({'format': 1, 'taken_at': '2026-12-01T00:00:00Z', 'databases': {'corpus': dict((k, []) for k in kinds)}},
                  fh)
    return path


def base(name, e):
    """Valid arguments of each module for the corpus cluster; each case overrides some."""
    c = e['c']
    conf_d = os.path.join(c.data_dir, 'conf.d')
    return {
        'settings': lambda: c.login(path=os.path.join(conf_d, '00-corpus.conf'), settings={'work_mem': '4MB'},
                                    data_dir=c.data_dir, bin_dir=c.bin_dir),
        'hba': lambda: c.login(path=os.path.join(c.data_dir, 'pg_hba.conf'),
                               rules=[{'type': 'local', 'method': 'trust'}]),
        'ssl_config': lambda: c.login(ssl_dir=os.path.join(e['scratch'], 'ssl'), cert_content=e['cert'],
                                      key_content=e['key']),
        'cluster_service': lambda: dict(data_dir=c.data_dir, bin_dir=c.bin_dir, state='started'),
        'standby': lambda: c.login(data_dir=c.data_dir, bin_dir=c.bin_dir, primary_host='127.0.0.1',
                                   primary_port=c.port, application_name='corpus', service_manager='pg_ctl',
                                   replication_password='corpus-secret'),
        'pitr_restore': lambda: dict(stanza='corpus', data_dir=os.path.join(e['scratch'], 'pitr'),
                                     bin_dir=c.bin_dir, target_type='immediate'),
        'failover': lambda: c.login(action='status', nodes=[dict(name='n1', host=c.socket_dir, port=c.port)]),
        'health_check': c.login,
        'maintenance': c.login,
        'index_review': c.login,
        'amcheck': c.login,
        'performance_review': c.login,
        'log_review': c.login,
        'notify': lambda: dict(report=os.path.join(e['scratch'], 'no-report.json'),
                               state_file=os.path.join(e['scratch'], 'notify-state.json'),
                               channels=[{'type': 'webhook', 'url': 'http://127.0.0.1:9/hook'}]),
        'capacity': lambda: dict(history_dir=e['scratch'], hosts=['db1']),
        'pool_check': lambda: dict(login_host='127.0.0.1', login_port=1, connect_timeout=2),
        'schema_doc': c.login,
        'pg_upgrade': lambda: c.login(old_data_dir=c.data_dir, old_bin_dir=c.bin_dir,
                                      new_bin_dir=os.path.join(ROOT, 'build', 'pg', '16', 'bin'),
                                      new_data_dir=os.path.join(e['scratch'], 'data16')),
        'tuning_advisor': c.login,
        'vulnerability_scan': lambda: dict(host='127.0.0.1', port=c.port),
        'session_control': lambda: c.login(states=['idle in transaction'], min_state_seconds=3600),
        'replication_slot': lambda: c.login(name='corpus_slot', state='absent'),
        'dr_plan': lambda: dict(report_dir=e['scratch'], dest=os.path.join(e['scratch'], 'dr'), clusters=[
            {'name': 'orders', 'hosts': [{'name': 'db1', 'role': 'primary'}]}]),
        'schema_site': lambda: dict(facts=_facts_file(e['scratch']), html_dir=os.path.join(e['scratch'], 'site')),
        'alert_rules': lambda: dict(dest=os.path.join(e['scratch'], 'rules', 'pgops.yml')),
        'pool_control': lambda: dict(action='retarget', config_file=os.path.join(e['scratch'], 'pgbouncer.ini'),
                                     server_host='db2', server_port=5432, login_host='127.0.0.1', login_port=1,
                                     connect_timeout=2),
        'sla': lambda: dict(report_dir=e['scratch'], month='2026-11',
                            clusters=[{'name': 'orders', 'hosts': ['db1', 'db2'], 'availability_pct': 99.9}]),
        'role_audit': c.login,
        'security_audit': c.login,
        'backup_verify': lambda: dict(stanza='corpus'),
        'report': lambda: dict(dest=os.path.join(e['scratch'], 'reports'), results={}),
        'restore_test': lambda: dict(stanza='corpus', scratch_root=e['scratch'], bin_dir=c.bin_dir),
        'write_probe': lambda: dict(state='stopped', hosts=[dict(host=c.socket_dir, port=c.port)],
                                    state_dir=e['scratch']),
    }[name]()


def rule(**kw):
    r = {'type': 'host', 'database': 'all', 'user': 'all', 'address': '10.0.0.0/8', 'method': 'scram-sha-256'}
    r.update(kw)
    return r


# (module, overrides, words the message must contain; None: it must name an overridden option)
CASES = [
    # settings: names, values, types, paths, ownership
    ('settings', {'settings': {'work_mem': NL_SETTING}}, 'settings.work_mem'),
    ('settings', {'settings': {'work_mem': '4MB\n'}}, 'settings.work_mem'),
    ('settings', {'settings': {'application_name': CTRL}}, 'settings.application_name'),
    ('settings', {'settings': {'application_name': NUL}}, 'settings.application_name'),
    ('settings', {'settings': {'work_mem\nfsync': 'off'}}, 'settings'),
    ('settings', {'settings': {"work_mem = '1GB' #": '4MB'}}, 'settings'),
    ('settings', {'settings': {'custom.x\n': '1'}}, 'settings'),
    ('settings', {'settings': {'': '1'}}, 'settings'),
    ('settings', {'settings': {'work_mem': ['4MB']}}, 'settings.work_mem'),
    ('settings', {'settings': {'work_mem': {'a': 1}}}, 'settings.work_mem'),
    ('settings', {'settings': {'work_mem': '-4MB'}}, 'settings.work_mem'),
    ('settings', {'settings': {'work_mem': '4XB'}}, 'settings.work_mem'),
    ('settings', {'settings': {'max_connections': 'many'}}, 'settings.max_connections'),
    ('settings', {'settings': {'max_connections': 10 ** 12}}, 'settings.max_connections'),
    ('settings', {'settings': {'fsync': 'perhaps'}}, 'settings.fsync'),
    ('settings', {'settings': {'wal_level': 'maximum'}}, 'settings.wal_level'),
    ('settings', {'settings': {'config_file': '/tmp/x'}}, 'settings.config_file'),
    ('settings', {'settings': {'hba_file': '/tmp/x'}}, 'settings.hba_file'),
    ('settings', {'settings': {'server_version': '99'}}, 'settings.server_version'),
    ('settings', {'path': '/nonexistent/dir/x.conf'}, 'path'),
    ('settings', {'mode': 'rwxrwxrwx-bad'}, 'mode'),
    ('settings', {'owner': 'no_such_user_corpus'}, 'owner'),
    ('settings', {'allow_restart': 'maybe'}, 'allow_restart'),
    ('settings', {'login_port': 'fivefourthreetwo'}, 'login_port'),
    ('settings', {'login_port': 1}, 'connect'),
    # hba: every field, hostile strings, types
    ('hba', {'rules': [rule(options={'clientcert': NL_RULE})]}, 'rules[0].options'),
    ('hba', {'rules': [rule(options={'bad key': '1'})]}, 'rules[0].options'),
    ('hba', {'rules': [rule(options={'x\nhost': '1'})]}, 'rules[0].options'),
    ('hba', {'rules': [rule(database=NL_RULE)]}, 'rules[0].database'),
    ('hba', {'rules': [rule(user=NL_RULE)]}, 'rules[0].user'),
    ('hba', {'rules': [rule(address=NL_RULE)]}, 'rules[0].address'),
    ('hba', {'rules': [rule(method='trust\nhost all all 0.0.0.0/0 trust')]}, 'rules[0].method'),
    ('hba', {'rules': [rule(database=DQUOTE)]}, 'rules[0].database'),
    ('hba', {'rules': [rule(user=DQUOTE)]}, 'rules[0].user'),
    ('hba', {'rules': [rule(user=CTRL)]}, 'rules[0].user'),
    ('hba', {'rules': [rule(database=COMMENT)]}, 'rules[0].database'),
    ('hba', {'rules': [rule(address='10.0.0.0/8 # all')]}, 'rules[0].address'),
    ('hba', {'rules': [rule(database=NUL)]}, 'rules[0].database'),
    ('hba', {'rules': [rule(address='10.0.0.0/33')]}, 'rules[0].address'),
    ('hba', {'rules': [rule(address='::1/129')]}, 'rules[0].address'),
    ('hba', {'rules': [rule(address='')]}, 'rules[0].address'),
    ('hba', {'rules': [rule(method='')]}, 'rules[0].method'),
    ('hba', {'rules': [rule(type='hostsssl')]}, 'rules[0].type'),
    ('hba', {'rules': [rule(type='local')]}, 'rules[0]'),
    ('hba', {'rules': [rule(database=[['nested']])]}, 'rules[0].database'),
    ('hba', {'rules': [rule(database={'a': 1})]}, 'rules[0].database'),
    ('hba', {'rules': [rule(unknown_key='x')]}, 'rules[0]'),
    ('hba', {'rules': ['host all all 0.0.0.0/0 trust']}, 'rules'),
    ('hba', {'rules': []}, 'rules'),
    ('hba', {'rules': [{'type': 'local', 'method': 'trust'}], 'path': '/nonexistent/pg_hba.conf'}, 'path'),
    ('hba', {'rules': [{'type': 'local', 'method': 'trust'}], 'path': '/tmp/not-the-hba-file.conf'}, 'hba_file'),
    ('hba', {'rules': [{'type': 'host', 'address': 'all', 'method': 'reject'}]}, 'lock'),
    ('hba', {'mode': 'bad-mode'}, 'mode'),
    # ssl_config
    ('ssl_config', {'cert_content': 'not a certificate'}, 'cert_content'),
    ('ssl_config', {'key_content': 'not a key'}, 'key_content'),
    ('ssl_config', {'cert_content': None, 'cert_src': '/nonexistent.crt'}, 'cert_src'),
    ('ssl_config', {'ca_content': 'garbage'}, 'ca_content'),
    ('ssl_config', {'ciphers': "HIGH'\nssl = off"}, 'ciphers'),
    ('ssl_config', {'ciphers': CTRL}, 'ciphers'),
    ('ssl_config', {'ciphers': ''}, 'ciphers'),
    ('ssl_config', {'min_protocol_version': 'TLSv1.0'}, 'min_protocol_version'),
    ('ssl_config', {'expiry_warning_days': 'soon'}, 'expiry_warning_days'),
    ('ssl_config', {'expiry_warning_days': -1}, 'expiry_warning_days'),
    ('ssl_config', {'verify_address': 'not an address!'}, 'verify_address'),
    ('ssl_config', {'ssl_dir': 'relative/ssl'}, 'ssl_dir'),
    ('ssl_config', {'owner': 'no_such_user_corpus'}, 'owner'),
    # cluster_service
    ('cluster_service', {'state': 'exploded'}, 'state'),
    ('cluster_service', {'data_dir': '/nonexistent/data'}, 'data_dir'),
    ('cluster_service', {'stop_mode': 'gentle'}, 'stop_mode'),
    ('cluster_service', {'timeout': 'long'}, 'timeout'),
    ('cluster_service', {'timeout': -5}, 'timeout'),
    ('cluster_service', {'timeout': 0}, 'timeout'),
    ('cluster_service', {'version': '15'}, 'cluster_name'),
    ('cluster_service', {'data_dir': None, 'bin_dir': None, 'version': '99', 'cluster_name': 'main'}, 'no cluster 99'),
    ('cluster_service', {'bin_dir': '/nonexistent/bin'}, 'bin_dir'),
    ('cluster_service', {'service_manager': 'upstart'}, 'service_manager'),
    ('cluster_service', {'cluster_name': NL_RULE, 'version': '15', 'data_dir': None}, 'cluster_name'),
    # standby
    ('standby', {'primary_port': 0}, 'primary_port'),
    ('standby', {'primary_port': 70000}, 'primary_port'),
    ('standby', {'primary_host': NL_RULE}, 'primary_host'),
    ('standby', {'primary_host': QUOTE}, 'primary_host'),
    ('standby', {'primary_host': ''}, 'primary_host'),
    ('standby', {'application_name': NL_RULE}, 'application_name'),
    ('standby', {'application_name': QUOTE}, 'application_name'),
    ('standby', {'application_name': ''}, 'application_name'),
    ('standby', {'application_name': COMMENT}, 'application_name'),
    ('standby', {'replication_user': QUOTE}, 'Nothing was changed'),  # a legal role name, quoted in conninfo
    ('standby', {'replication_user': NL_RULE}, 'replication_user'),
    ('standby', {'replication_password': 'secret\nhost=evil'}, 'replication_password'),
    ('standby', {'replication_ssl_mode': 'sometimes'}, 'replication_ssl_mode'),
    ('standby', {'method': 'rsync'}, 'method'),
    ('standby', {'method': 'pgbackrest'}, 'pgbackrest_stanza'),
    ('standby', {'timeout': 0}, 'timeout'),
    ('standby', {'replication_ca_cert': '/nonexistent/ca.crt'}, 'replication_ca_cert'),
    ('standby', {'data_dir': '/nonexistent/data'}, 'data_dir'),
    # pitr_restore
    ('pitr_restore', {'target_type': 'time', 'target': 'yesterday'}, 'target'),
    ('pitr_restore', {'target_type': 'time', 'target': '2026-01-01 00:00:00'}, 'target'),
    ('pitr_restore', {'target_type': 'time', 'target': '2026-13-01 00:00:00+00'}, 'target'),
    ('pitr_restore', {'target_type': 'time', 'target': NL_RULE}, 'target'),
    ('pitr_restore', {'target_type': 'time'}, 'target'),
    ('pitr_restore', {'target_type': 'name'}, 'target'),
    ('pitr_restore', {'target_type': 'lsn', 'target': 'not-an-lsn'}, 'target'),
    ('pitr_restore', {'target_type': 'xid', 'target': '-3'}, 'target'),
    ('pitr_restore', {'target_type': 'name', 'target': NL_RULE}, 'target'),
    ('pitr_restore', {'target_type': 'tomorrow'}, 'target_type'),
    ('pitr_restore', {'target_action': 'explode'}, 'target_action'),
    ('pitr_restore', {'stanza': NL_RULE}, 'stanza'),
    ('pitr_restore', {'stanza': COMMENT}, 'stanza'),
    ('pitr_restore', {'stanza': '--repo1-path=/tmp'}, 'stanza'),
    ('pitr_restore', {'set': '--delta'}, 'set'),
    ('pitr_restore', {'process_max': 0}, 'process_max'),
    ('pitr_restore', {'timeout': -1}, 'timeout'),
    ('pitr_restore', {'run_as': 'no_such_user_corpus'}, 'run_as'),
    # failover
    ('failover', {'action': 'explode'}, 'action'),
    ('failover', {'nodes': []}, 'nodes'),
    ('failover', {'nodes': 'n1'}, 'dictionary requested'),  # Ansible's own check of list elements
    ('failover', {'nodes': [{'host': '/tmp'}]}, 'nodes'),
    ('failover', {'nodes': [{'name': 'n1'}, {'name': 'n1'}]}, 'nodes'),
    ('failover', {'nodes': [{'name': NL_RULE, 'host': '/tmp'}]}, 'nodes'),
    ('failover', {'action': 'switchover', 'candidate': 'nx'}, 'candidate'),
    ('failover', {'action': 'rejoin'}, 'node'),
    ('failover', {'max_lag_bytes': -1}, 'max_lag_bytes'),
    ('failover', {'timeout': 0}, 'timeout'),
    ('failover', {'replication_ssl_mode': 'sometimes'}, 'replication_ssl_mode'),
    ('failover', {'synchronous_standby_names': NL_RULE}, 'synchronous_standby_names'),
    ('failover', {'patroni_api': ['not a url']}, 'patroni_api'),
    # checking modules
    ('health_check', {'checks': ['no_such_check']}, 'checks'),
    ('health_check', {'skip_checks': ['no_such_check']}, 'skip_checks'),
    ('health_check', {'thresholds': {'no_such_threshold': 1}}, 'thresholds'),
    ('health_check', {'thresholds': {'disk_free_warning_pct': 'lots'}}, 'thresholds'),
    ('health_check', {'thresholds': {'disk_free_warning_pct': 5, 'disk_free_critical_pct': 10}}, 'thresholds'),
    ('health_check', {'thresholds': {'disk_free_warning_pct': -1}}, 'thresholds'),
    ('health_check', {'cadence': 'hourly'}, 'cadence'),
    ('maintenance', {'thresholds': {'no_such_threshold': 1}}, 'thresholds'),
    ('maintenance', {'thresholds': {'vacuum_dead_ratio': 1.5}}, 'thresholds'),
    ('maintenance', {'thresholds': {'analyze_min_changes': 'lots'}}, 'thresholds'),
    ('maintenance', {'actions': ['vacuum full']}, 'actions'),
    ('maintenance', {'actions': []}, 'actions'),
    ('maintenance', {'max_objects': 0}, 'max_objects'),
    ('maintenance', {'lock_timeout_ms': -1}, 'lock_timeout_ms'),
    ('maintenance', {'time_budget_s': 0}, 'time_budget_s'),
    ('maintenance', {'databases': ['no_such_db']}, 'databases'),
    ('maintenance', {'databases': ['app\nDROP']}, 'databases'),
    ('maintenance', {'actions': ['repack'], 'repack_bin': '/nonexistent/pg_repack'}, 'repack_bin'),
    ('maintenance', {'actions': ['repack', 'vacuum full']}, 'actions'),
    ('index_review', {'thresholds': {'unused_min_bytes': -1}}, 'thresholds.unused_min_bytes'),
    ('index_review', {'thresholds': {'bloat_warning_pct': 'high'}}, 'thresholds.bloat_warning_pct'),
    ('index_review', {'thresholds': {'no_such': 1}}, 'thresholds'),
    ('index_review', {'checks': ['unused; DROP TABLE t']}, 'checks'),
    ('index_review', {'databases': ["app' OR '1"]}, 'databases'),
    ('index_review', {'used_elsewhere': [{'database': 'x', 'schema': 's', 'index': 'i', 'extra': 1}]},
     'used_elsewhere[0]'),
    ('index_review', {'used_elsewhere': [{'database': 'x'}]}, 'used_elsewhere'),
    ('index_review', {'used_elsewhere': 'public.t_idx'}, 'used_elsewhere'),
    ('index_review', {'cadence': 'hourly'}, 'cadence'),
    ('amcheck', {'cursor': {'database': 'postgres', 'oid': '1; DROP TABLE t'}}, 'cursor.oid'),
    ('amcheck', {'cursor': 'postgres:1'}, 'cursor'),
    ('amcheck', {'cursor': {'database': '', 'oid': 1}}, 'cursor'),
    ('amcheck', {'time_budget_s': 0}, 'time_budget_s'),
    ('performance_review', {'baseline': {'statements': 'x'}}, 'baseline'),
    ('performance_review', {'baseline': {'statements': {'d/r/1': {'calls': True, 'total_ms': 1}}}}, 'baseline'),
    ('performance_review', {'baseline': "{'statements': {}}\nDROP"}, 'baseline'),
    ('performance_review', {'top': 0}, 'top'),
    ('log_review', {'cursor': {'abc': 'x'}}, 'cursor'),
    ('log_review', {'cursor': {'abc': {'offset': '1; rm'}}}, 'cursor'),
    ('log_review', {'thresholds': {'auth_failures_warning': -1}}, 'thresholds.auth_failures_warning'),
    ('log_review', {'log_format': 'syslog'}, 'log_format'),
    ('notify', {'channels': [{'type': 'webhook', 'url': 'file:///etc/passwd'}]}, 'channels[0].url'),
    ('notify', {'channels': [{'type': 'email', 'host': 'smtp', 'sender': 'a@b', 'to': ['x@y\nBcc: z@w']}]},
     'channels[0].to'),
    ('notify', {'channels': [{'type': 'pager'}]}, 'channels'),
    ('notify', {'suppress_hours': -1}, 'suppress_hours'),
    ('notify', {'level': 'info'}, 'level'),
    ('notify', {}, 'report'),
    ('log_review', {'change_windows': [{'start': '25:00', 'end': '26:00'}]}, 'change_windows[0].start'),
    ('log_review', {'change_windows': [{'start': '22:00', 'end': '02:00'}]}, 'change_windows[0]'),
    ('log_review', {'change_windows': [{'start': '01:00', 'end': '02:00', 'days': ['someday']}]},
     'change_windows[0].days'),
    ('log_review', {'change_windows': [{'start': '01:00\n', 'end': '02:00'}]}, 'change_windows[0].start'),
    ('log_review', {'checks': ['errors\nDROP']}, 'checks'),
    ('capacity', {'hosts': ['db1\nDROP']}, 'hosts'),
    ('capacity', {'hosts': ['../etc/passwd']}, 'hosts'),
    ('capacity', {'thresholds': {'days_full_warning': 10, 'days_full_critical': 30}}, 'thresholds.days_full_warning'),
    ('capacity', {'thresholds': {'window_days': 0}}, 'window_days'),
    ('capacity', {'thresholds': {'min_points': 'x'}}, 'thresholds.min_points'),
    ('capacity', {'checks': ['trend']}, 'checks'),
    ('pool_check', {'instance': 'app\nx'}, 'instance'),
    ('pool_check', {'thresholds': {'maxwait_warning_s': 20, 'maxwait_critical_s': 10}}, 'thresholds.maxwait_warning_s'),
    ('pool_check', {'thresholds': {'pool_usage_warning_pct': 150}}, 'thresholds.pool_usage_warning_pct'),
    ('pool_check', {'checks': ['errors']}, 'checks'),
    ('pool_check', {}, 'cannot connect to pgbouncer'),
    ('schema_doc', {'databases': ['no_such_db']}, 'databases'),
    ('schema_doc', {'databases': ['shop\nx']}, 'databases'),
    ('schema_doc', {'schemas': ["sales'; DROP TABLE corpus_canary; --"]}, 'schemas'),
    ('schema_doc', {'login_port': 1, 'connect_timeout': 2}, 'cannot connect'),
    ('schema_doc', {'thresholds': {'comment_coverage_warning_pct': 150}}, 'thresholds.comment_coverage_warning_pct'),
    ('schema_doc', {'checks': ['no_such_check']}, 'checks'),
    ('schema_doc', {'dest': 'facts.json'}, 'dest'),
    ('schema_doc', {'dest': '/nonexistent/dir/facts.json'}, 'dest'),
    ('standby', {'config_from': '/nonexistent/data'}, 'config_from'),
    ('pg_upgrade', {'old_version': NL_RULE}, 'old_version'),
    ('pg_upgrade', {'cluster_name': QUOTE, 'old_data_dir': None}, 'cluster_name'),
    ('pg_upgrade', {'cluster_name': 'main', 'old_data_dir': None}, 'old_version'),
    ('pg_upgrade', {'new_data_dir': 'data16'}, 'new_data_dir'),
    ('pg_upgrade', {'new_bin_dir': '/nonexistent/bin'}, 'new_bin_dir'),
    ('pg_upgrade', {'new_bin_dir': '/usr/lib/postgresql/15/bin'}, 'not newer'),
    ('pg_upgrade', {'new_version': '17'}, 'new_version'),
    ('pg_upgrade', {'jobs': 0}, 'jobs'),
    ('pg_upgrade', {'mode': 'teleport'}, 'mode'),
    ('pg_upgrade', {'action': 'upgrade'}, 'stop_old_cluster'),
    ('pg_upgrade', {'login_port': 1, 'connect_timeout': 2}, 'cannot connect'),
    ('tuning_advisor', {'memory': '64 GiB'}, 'memory'),
    ('tuning_advisor', {'memory': "1GB'; DROP TABLE corpus_canary; --"}, 'memory'),
    ('tuning_advisor', {'cpus': 0}, 'cpus'),
    ('tuning_advisor', {'connections': -5}, 'connections'),
    ('tuning_advisor', {'workload': 'batch'}, 'workload'),
    ('tuning_advisor', {'thresholds': {'tolerance_pct': 101}}, 'thresholds.tolerance_pct'),
    ('tuning_advisor', {'checks': ['fsync']}, 'checks'),
    ('dr_plan', {'clusters': [{'name': NL_RULE, 'hosts': [{'name': 'db1', 'role': 'primary'}]}]}, 'clusters[0].name'),
    ('dr_plan', {'clusters': [{'name': 'o', 'hosts': [{'name': 'db1\nx', 'role': 'primary'}]}]}, 'clusters[0].hosts[0].name'),
    ('dr_plan', {'clusters': [{'name': 'o', 'hosts': [{'name': 'db1', 'role': QUOTE}]}]}, 'clusters[0].hosts[0].role'),
    ('dr_plan', {'clusters': [{'name': 'o', 'hosts': [{'name': 'db1', 'role': 'primary', 'site': CTRL}]}]},
     'clusters[0].hosts[0].site'),
    ('dr_plan', {'clusters': [{'name': 'o', 'hosts': []}]}, 'clusters[0].hosts'),
    ('dr_plan', {'inventory': NUL}, 'inventory'),
    ('dr_plan', {'now': '2026-13-45'}, 'now'),
    ('dr_plan', {'now': '2026-13-45 00:00:00 UTC'}, 'now'),
    ('dr_plan', {'thresholds': {'rehearsal_max_age_days': 'often'}}, 'rehearsal_max_age_days'),
    ('session_control', {'states': None, 'min_state_seconds': None}, 'no filter is given'),
    ('session_control', {'states': ['sleeping']}, 'states'),
    ('session_control', {'users': []}, 'users'),
    ('session_control', {'min_state_seconds': -1}, 'min_state_seconds'),
    ('session_control', {'max_sessions': 0}, 'max_sessions'),
    ('session_control', {'action': 'kill'}, 'action'),
    ('replication_slot', {'name': QUOTE}, 'name'),
    ('replication_slot', {'name': NL_RULE}, 'name'),
    ('replication_slot', {'name': 'x' * 64}, 'name'),
    ('replication_slot', {'state': 'gone'}, 'state'),
    ('vulnerability_scan', {'host': NL_RULE}, 'host'),
    ('vulnerability_scan', {'host': ' '}, 'host'),
    ('vulnerability_scan', {'port': 70000}, 'port'),
    ('vulnerability_scan', {'timeout': 0}, 'timeout'),
    ('vulnerability_scan', {'probe_users': []}, 'probe_users'),
    ('vulnerability_scan', {'probe_users': [NUL]}, 'probe_users'),
    ('vulnerability_scan', {'probe_users': ['x' * 64]}, 'probe_users'),
    ('vulnerability_scan', {'probe_database': CTRL}, 'probe_database'),
    ('vulnerability_scan', {'server_name': NL_RULE}, 'server_name'),
    ('vulnerability_scan', {'login_user': 'monitor'}, 'login_password'),
    ('vulnerability_scan', {'latest_versions': {'15': '16.1'}}, 'latest_versions'),
    ('vulnerability_scan', {'latest_versions': {'fifteen': '15.2'}}, 'latest_versions'),
    ('vulnerability_scan', {'ca_file': '/nonexistent/ca.crt'}, 'ca_file'),
    ('vulnerability_scan', {'thresholds': {'cert_expiry_warning_days': 3}}, 'cert_expiry_warning_days'),
    ('vulnerability_scan', {'checks': ['heartbleed']}, 'checks'),
    ('vulnerability_scan', {'waivers': [{'id': 'outside.nothing', 'reason': 'x', 'expires': '2099-01-01'}]},
     'waivers'),
    ('schema_site', {'facts': 'facts.json'}, 'facts'),
    ('schema_site', {'facts': '/nonexistent/facts.json'}, 'facts'),
    ('schema_site', {'facts': '/etc/hostname'}, 'facts'),
    ('schema_site', {'html_dir': None}, 'markdown_dir'),
    ('schema_site', {'html_dir': 'site'}, 'html_dir'),
    ('schema_site', {'html_dir': '/etc'}, 'overwrite_foreign_directory'),
    ('schema_site', {'title': NL_RULE}, 'title'),
    ('schema_site', {'source': CTRL}, 'source'),
    ('schema_site', {'compare_with': '/'}, 'compare_with'),
    ('schema_site', {'compare_with': '/etc/hostname'}, 'compare_with'),
    ('schema_site', {'keep_snapshots': -1}, 'keep_snapshots'),
    ('schema_site', {'diagram_max_tables': 0}, 'diagram_max_tables'),
    ('schema_site', {'thresholds': {'change_findings_max': -1}}, 'thresholds.change_findings_max'),
    ('schema_site', {'checks': ['no_such_check']}, 'checks'),
    ('schema_site', {'waivers': [{'id': 'schema.nope', 'reason': 'x'}]}, 'waivers'),
    ('alert_rules', {'thresholds': {'connections_warning_pct': '80) or vector(1'}}, 'thresholds.connections_warning_pct'),
    ('alert_rules', {'thresholds': {'connections_warning_pct': 96}}, 'thresholds.connections_warning_pct'),
    ('alert_rules', {'pool_thresholds': {'maxwait_critical_s': True}}, 'pool_thresholds.maxwait_critical_s'),
    ('alert_rules', {'labels': {'team': "dba'\n- alert: Injected"}}, 'labels.team'),
    ('alert_rules', {'labels': {'check': 'x'}}, 'labels'),
    ('alert_rules', {'pool_auth_user': 'a"} or up{x="'}, 'pool_auth_user'),
    ('alert_rules', {'runbook_base_url': 'https://x/\nexpr: vector(1)'}, 'runbook_base_url'),
    ('alert_rules', {'rule_group': 'pgops\n  rules: []'}, 'rule_group'),
    ('alert_rules', {'skip_alerts': ['Nope']}, 'skip_alerts'),
    ('alert_rules', {'dest': 'rules.yml'}, 'dest'),
    ('alert_rules', {'mode': '0999'}, 'mode'),
    ('alert_rules', {'owner': 'no-such-user-here'}, 'owner'),
    ('pool_control', {'server_host': 'db2\n* = host=evil'}, 'server_host'),
    ('pool_control', {'server_host': "db2' dbname='x"}, 'server_host'),
    ('pool_control', {'server_host': 'db2 ; comment'}, 'server_host'),
    ('pool_control', {'server_port': 0}, 'server_port'),
    ('pool_control', {'config_file': None}, 'config_file'),
    ('pool_control', {'instance': 'app\nx'}, 'instance'),
    ('pool_control', {'os_user': 'no such user'}, 'os_user'),
    ('pool_control', {'pause_timeout': -1}, 'pause_timeout'),
    ('pool_control', {'action': 'pause'}, 'cannot connect to pgbouncer'),
    ('sla', {'month': '2026-13'}, 'month'),
    ('sla', {'month': '2026-11\nx'}, 'month'),
    ('sla', {'clusters': [{'name': 'a\nb', 'hosts': ['db1']}]}, 'clusters[0].name'),
    ('sla', {'clusters': [{'name': 'a', 'hosts': ['../etc']}]}, 'clusters[0].hosts'),
    ('sla', {'clusters': [{'name': 'a', 'hosts': []}]}, 'clusters[0].hosts'),
    ('sla', {'clusters': [{'name': 'a', 'hosts': ['x']}, {'name': 'a', 'hosts': ['y']}]}, 'clusters[1].name'),
    ('sla', {'clusters': [{'name': 'a', 'hosts': ['x'], 'rpo_seconds': -5}]}, 'clusters[0].rpo_seconds'),
    ('sla', {'clusters': [{'name': 'a', 'hosts': ['x'], 'availability_pct': 101}]}, 'clusters[0].availability_pct'),
    ('sla', {'thresholds': {'min_coverage_pct': 'most'}}, 'thresholds.min_coverage_pct'),
    ('sla', {'checks': ['uptime']}, 'checks'),
    ('performance_review', {'snapshot_size': -1}, 'snapshot_size'),
    ('performance_review', {'thresholds': {'new_heavy_pct': 120}}, 'thresholds.new_heavy_pct'),
    ('performance_review', {'checks': ['regression\n']}, 'checks'),
    ('amcheck', {'max_relations': -5}, 'max_relations'),
    ('amcheck', {'lock_timeout_ms': 0}, 'lock_timeout_ms'),
    ('amcheck', {'databases': ['no_such_db']}, 'databases'),
    ('amcheck', {'databases': ['app\nDROP']}, 'databases'),
    ('health_check', {'statement_timeout': -1}, 'statement_timeout'),
    ('health_check', {'databases': [QUOTE]}, 'databases'),
    ('health_check', {'waivers': [{'id': 'health.no_such', 'reason': 'x', 'expires': '2099-01-01'}]}, 'waivers'),
    ('health_check', {'waivers': [{'id': 'health.sequences', 'expires': '2099-01-01'}]}, 'waivers'),
    ('health_check', {'waivers': [{'id': 'health.sequences', 'reason': 'x', 'expires': 'someday'}]}, 'waivers'),
    ('health_check', {'waivers': ['health.sequences']}, 'dictionary requested'),  # Ansible's own check
    ('health_check', {'login_user': QUOTE}, 'login_user'),
    ('health_check', {'ssl_mode': 'always'}, 'ssl_mode'),
    ('role_audit', {'expected': [{'name': 'app', 'member_of': 'pg_monitor'}]}, 'expected'),
    ('role_audit', {'expected': [{'name': 'app', 'login': 'yes please'}]}, 'expected'),
    ('role_audit', {'expected': [{'login': True}]}, 'expected'),
    ('role_audit', {'expected': 'app'}, 'expected'),
    ('role_audit', {'max_objects_per_check': 0}, 'max_objects_per_check'),
    ('role_audit', {'databases': [NL_RULE]}, 'databases'),
    ('security_audit', {'expiry_warning_days': 'soon'}, 'expiry_warning_days'),
    ('security_audit', {'databases': [QUOTE]}, 'databases'),
    ('security_audit', {'waivers': [{'id': 'security.nope', 'reason': 'x', 'expires': '2099-01-01'}]}, 'waivers'),
    ('backup_verify', {'stanza': NL_RULE}, 'stanza'),
    ('backup_verify', {'stanza': '--config=/etc/passwd'}, 'stanza'),
    ('backup_verify', {'thresholds': {'no_such': 1}}, 'thresholds'),
    ('backup_verify', {'config': '/nonexistent/pgbackrest.conf'}, 'config'),
    # report
    ('report', {'fail_on': 'severe'}, 'fail_on'),
    ('report', {'formats': ['pdf']}, 'formats'),
    ('report', {'results': {'db1': {'findings': [{'id': 'x', 'severity': 'apocalyptic'}]}}}, 'severity'),
    ('report', {'name': '../escape'}, 'name'),
    ('report', {'name': NL_RULE}, 'name'),
    ('report', {'dest': 'relative/dir'}, 'dest'),
    ('report', {'generated_at': NL_RULE}, 'generated_at'),
    ('report', {'title': CTRL}, 'title'),
    ('report', {'mode': 'bad-mode'}, 'mode'),
    # restore_test
    ('restore_test', {'scratch_root': '/nonexistent/scratch'}, 'scratch_root'),
    ('restore_test', {'sample_tables': ['orders']}, 'sample_tables'),
    ('restore_test', {'sample_tables': [NL_RULE]}, 'sample_tables'),
    ('restore_test', {'dump_database': NL_RULE}, 'dump_database'),
    ('restore_test', {'set': 'latest'}, 'set'),
    ('restore_test', {'scratch_root': 'relative'}, 'scratch_root'),
    ('restore_test', {'target_time': 'yesterday'}, 'target_time'),
    ('restore_test', {'process_max': 0}, 'process_max'),
    ('restore_test', {'bin_dir': '/nonexistent/bin'}, 'bin_dir'),
    ('restore_test', {'stanza': NL_RULE}, 'stanza'),
    # write_probe
    ('write_probe', {'state': 'exploded'}, 'state'),
    ('write_probe', {'hosts': []}, 'hosts'),
    ('write_probe', {'name': '../../etc/x'}, 'name'),
    ('write_probe', {'name': NL_RULE}, 'name'),
    ('write_probe', {'interval_ms': 0, 'state': 'started'}, 'interval_ms'),
    ('write_probe', {'state_dir': 'relative/state'}, 'state_dir'),
    ('write_probe', {'timeout': 0}, 'timeout'),
]


def _files(c):
    """The cluster's configuration files, hashed."""
    out = {}
    for root, dirs, files in os.walk(c.data_dir):
        dirs[:] = [d for d in dirs if d in ('conf.d',)]
        for name in files:
            if name.endswith('.conf') or name in ('standby.signal', 'recovery.signal'):
                path = os.path.join(root, name)
                with open(path, 'rb') as fh:
                    out[os.path.relpath(path, c.data_dir)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _case_id(case):
    module, overrides, dummy = case
    return '%s-%s' % (module, '-'.join(sorted(overrides)))


@pytest.mark.parametrize('case', CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_fails_clearly_and_changes_nothing(corpus, case):
    module, overrides, words = case
    c = corpus['c']
    args = base(module, corpus)
    for key, value in overrides.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    files = _files(c)
    scratch = sorted(os.listdir(corpus['scratch']))
    with pytest.raises(ModuleFailed) as err:
        run_module(module, args)
    result = err.value.result
    msg = result.get('msg') or ''
    assert 'Traceback' not in msg and 'exception' not in result and 'Traceback' not in result['_stderr'], result
    assert words.lower() in msg.lower(), msg
    assert not result.get('changed'), msg
    assert _files(c) == files, msg
    assert sorted(os.listdir(corpus['scratch'])) == scratch, msg


def test_a_comment_with_a_newline_stays_a_comment(corpus):
    """A comment is the one free text of a rule: each of its lines is written as a comment."""
    c = corpus['c']
    a = base('hba', corpus)
    a['rules'] = a['rules'] + [rule(comment=NL_RULE)]
    files = _files(c)
    planned = run_module('hba', a, check_mode=True, diff=True)
    lines = [x for x in planned['diff']['after'].splitlines() if '0.0.0.0/0' in x]
    assert lines and all(x.startswith('#') for x in lines), lines
    assert _files(c) == files


def test_the_cluster_is_untouched_after_the_corpus(corpus):
    c = corpus['c']
    assert c.is_running()
    assert c.psql('SELECT count(*) FROM corpus_canary') == '0'
    assert c.psql('SELECT count(*) FROM pg_replication_slots') == '0'
    assert c.psql("SELECT count(*) FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' AND rolname <> 'postgres'") == '0'
    assert c.psql("SELECT count(*) FROM pg_settings WHERE source = 'configuration file' AND "
                  "sourcefile LIKE '%corpus%'") == '0'


def test_the_corpus_is_broad():
    """More than a hundred cases, every module, every hostile string class."""
    assert len(CASES) > 150
    assert {m for m, dummy, dummy2 in CASES} == {
        'settings', 'hba', 'ssl_config', 'cluster_service', 'standby', 'pitr_restore', 'failover', 'health_check',
        'maintenance', 'role_audit', 'security_audit', 'backup_verify', 'report', 'restore_test', 'write_probe',
        'index_review', 'amcheck', 'performance_review', 'capacity', 'log_review', 'notify', 'sla', 'pool_check',
        'pool_control', 'alert_rules', 'schema_doc', 'schema_site', 'pg_upgrade', 'tuning_advisor',
        'vulnerability_scan', 'dr_plan', 'session_control', 'replication_slot'}
    strings = set()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            strings.add(value)
    walk(CASES)
    assert set(HOSTILE) <= strings, set(HOSTILE) - strings
