# SPDX-License-Identifier: GPL-3.0-or-later
"""ssl_config on a real cluster: install, rotate without a restart, refuse bad material."""

import os
import stat

import psycopg2
import pytest

from tests.harness import certs
from tests.harness.faults import each_step_fails
from tests.harness.pgcluster import ModuleFailed, run_module


@pytest.fixture(scope='module')
def pki():
    ca_cert, ca_key = certs.ca()
    return ca_cert, ca_key


def args(c, cert_path, key_path, **extra):
    a = c.login(ssl_dir=os.path.join(c.base, 'ssl'), cert_src=cert_path, key_src=key_path)
    a.update(extra)
    return a


def tls_session(c, sslmode='require'):
    conn = psycopg2.connect(host='127.0.0.1', port=c.port, user='postgres', password=c.password,
                            dbname='postgres', sslmode=sslmode, connect_timeout=5)
    conn.autocommit = True
    return conn


def test_install_and_rotate_without_restart(fresh_cluster, pki, tmp_path):
    c = fresh_cluster
    started = c.psql('SELECT pg_postmaster_start_time()')
    first = certs.write(str(tmp_path), 'one', *certs.server(*pki))
    a = args(c, *first)
    planned = run_module('ssl_config', a, check_mode=True, diff=True)
    assert planned['changed'] and planned['changed_settings']['ssl'] == ['off', 'on']
    assert not os.path.exists(a['ssl_dir'])
    done = run_module('ssl_config', a)
    assert done['changed'] and done['served']['serial'] == done['certificate']['serial']
    assert done['served']['tls_version'] in ('TLSv1.2', 'TLSv1.3')
    assert stat.S_IMODE(os.stat(os.path.join(a['ssl_dir'], 'server.key')).st_mode) == 0o600
    assert done['certificate']['subject_alt_names'] == ['localhost', '127.0.0.1']
    assert done['findings'][0]['severity'] == 'ok'
    assert not run_module('ssl_config', a, check_mode=True)['changed']
    assert not run_module('ssl_config', a)['changed']

    session = tls_session(c)
    cur = session.cursor()
    cur.execute('SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    assert cur.fetchone()[0] in ('TLSv1.2', 'TLSv1.3')

    second = certs.write(str(tmp_path), 'two', *certs.server(*pki, days=20))
    rotated = run_module('ssl_config', args(c, *second))
    assert rotated['changed_files'] == [os.path.join(a['ssl_dir'], n) for n in ('server.crt', 'server.key')]
    assert rotated['changed_settings'] == {}
    assert rotated['served']['serial'] == rotated['certificate']['serial'] != done['certificate']['serial']
    assert [f['id'] for f in rotated['findings'] if f['severity'] == 'warning'] == ['ssl.certificate_expiry']
    cur.execute('SELECT 1')  # the session opened before the rotation still works
    assert cur.fetchone() == (1,)
    session.close()
    assert c.psql('SELECT pg_postmaster_start_time()') == started


def test_min_protocol_version(fresh_cluster, pki, tmp_path):
    c = fresh_cluster
    a = args(c, *certs.write(str(tmp_path), 's', *certs.server(*pki)), min_protocol_version='TLSv1.3')
    assert run_module('ssl_config', a)['served']['tls_version'] == 'TLSv1.3'
    assert c.psql('SHOW ssl_min_protocol_version') == 'TLSv1.3'


def test_bad_material_is_refused_and_nothing_changes(cluster, pki, tmp_path):
    c = cluster
    good_cert, good_key = certs.server(*pki)
    other_cert, dummy = certs.server(*pki)
    expired = certs.write(str(tmp_path), 'expired', *certs.server(*pki, expired=True))
    mismatch = certs.write(str(tmp_path), 'mismatch', other_cert, good_key)
    loose = certs.write(str(tmp_path), 'loose', good_cert, good_key, key_mode=0o644)
    garbage = tmp_path / 'garbage.crt'
    garbage.write_text('not a certificate')
    cases = [
        (expired, 'the certificate expired on'),
        (mismatch, 'does not match the private key'),
        (loose, 'other users can read the key'),
        ((str(garbage), mismatch[1]), 'not a PEM certificate'),
    ]
    for (cert_path, key_path), words in cases:
        with pytest.raises(ModuleFailed) as err:
            run_module('ssl_config', args(c, cert_path, key_path))
        assert words in err.value.result['msg'] and 'Fix:' in err.value.result['msg']
        assert not os.path.exists(os.path.join(c.base, 'ssl'))
    assert c.psql('SHOW ssl') == 'off'


def test_a_failure_after_the_first_change_puts_everything_back(fresh_cluster, pki, tmp_path):
    """Fault at the last step (the new certificate is not seen served): files, settings and the
    served certificate are the previous ones, for a first install and for a rotation."""
    c = fresh_cluster
    first = certs.write(str(tmp_path), 'one', *certs.server(*pki))
    a = args(c, *first)
    with pytest.raises(ModuleFailed) as err:
        run_module('ssl_config', dict(a, verify_address='127.0.0.2'))  # nothing listens there
    msg = err.value.result['msg']
    assert 'Put back: the previous files, the previous ALTER SYSTEM values (reloaded)' in msg, msg
    assert not os.path.exists(a['ssl_dir']) and c.psql('SHOW ssl') == 'off'
    assert 'ssl' not in open(os.path.join(c.data_dir, 'postgresql.auto.conf')).read()
    # installed for real, then a rotation that fails keeps the first certificate, byte for byte
    done = run_module('ssl_config', a)
    crt = open(os.path.join(a['ssl_dir'], 'server.crt'), 'rb').read()
    second = certs.write(str(tmp_path), 'two', *certs.server(*pki))
    with pytest.raises(ModuleFailed):
        run_module('ssl_config', dict(args(c, *second), verify_address='127.0.0.2'))
    assert open(os.path.join(a['ssl_dir'], 'server.crt'), 'rb').read() == crt
    assert stat.S_IMODE(os.stat(os.path.join(a['ssl_dir'], 'server.key')).st_mode) == 0o600
    again = run_module('ssl_config', a)  # the first certificate is what the server serves
    assert again['changed'] is False and done['certificate']['serial'] == again['certificate']['serial']
    cur = tls_session(c).cursor()
    cur.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    assert cur.fetchone()[0] is True


def test_each_step_fails_in_turn_and_is_put_back(fresh_cluster, pki, tmp_path):
    c = fresh_cluster
    a = args(c, *certs.write(str(tmp_path), 'one', *certs.server(*pki)))
    run_module('ssl_config', a)
    ssl_dir = a['ssl_dir']

    def snapshot():
        files = dict((n, open(os.path.join(ssl_dir, n), 'rb').read()) for n in sorted(os.listdir(ssl_dir)))
        with open(os.path.join(c.data_dir, 'postgresql.auto.conf')) as fh:
            auto = fh.read()
        cur = tls_session(c).cursor()
        cur.execute('SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
        return files, auto, cur.fetchone()[0], c.psql('SHOW ssl_min_protocol_version'), served_serial(c)
    second = args(c, *certs.write(str(tmp_path), 'two', *certs.server(*pki)), min_protocol_version='TLSv1.3')
    failures, done = each_step_fails(lambda env: run_module('ssl_config', second, env=env), snapshot)
    assert [f['steps'][-1]['step'] for f in failures] == [
        'install server.crt, server.key', 'ALTER SYSTEM SET ssl_min_protocol_version', 'reload',
        'the new certificate is served']
    assert all(f['changed'] is False and 'the server serves what it served before' in f['msg'] for f in failures)
    assert done['served']['serial'] == done['certificate']['serial'] == served_serial(c)


def served_serial(c):
    from ansible_collections.pgops.postgresql.plugins.module_utils import _tls
    return _tls.served_description('127.0.0.1', c.port)['serial']
