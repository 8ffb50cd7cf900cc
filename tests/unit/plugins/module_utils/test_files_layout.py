# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared file and layout helpers: one atomic write, paths from the major version."""

import json
import os
import stat

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.pgops.postgresql.plugins.module_utils._errors import ParameterError
from ansible_collections.pgops.postgresql.plugins.module_utils._files import write_atomic
from ansible_collections.pgops.postgresql.plugins.module_utils import _layout
from ansible_collections.pgops.postgresql.plugins.module_utils._layout import Layout, major_of


@pytest.fixture
def module(monkeypatch):
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': {}})))
    if hasattr(basic, '_ANSIBLE_PROFILE'):
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    return basic.AnsibleModule(argument_spec={})


def test_write_atomic_sets_the_mode_before_the_file_appears(module, tmp_path, monkeypatch):
    target = tmp_path / 'server.key'
    seen = {}
    real_rename = os.rename

    def rename(src, dst):
        seen['mode'] = stat.S_IMODE(os.stat(src).st_mode)
        return real_rename(src, dst)
    monkeypatch.setattr(os, 'rename', rename)
    write_atomic(module, str(target), b'secret', mode=0o600)
    assert seen['mode'] == 0o600
    assert target.read_bytes() == b'secret'
    assert [p.name for p in tmp_path.iterdir()] == ['server.key']


def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(module, tmp_path):
    target = tmp_path / 'pg_hba.conf'
    target.write_text('old\n')
    os.chmod(str(target), 0o640)
    write_atomic(module, str(target), 'new\n')
    assert target.read_text() == 'new\n'
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640


def test_write_atomic_leaves_no_temporary_file_when_it_fails(module, tmp_path, monkeypatch):
    target = tmp_path / 'report.json'
    target.write_text('{}')

    def rename(src, dst):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'rename', rename)
    with pytest.raises(OSError):
        write_atomic(module, str(target), '{"a": 1}', mode='0640')
    assert target.read_text() == '{}'
    assert [p.name for p in tmp_path.iterdir()] == ['report.json']


def test_major_version_comes_from_pg_version(tmp_path):
    (tmp_path / 'PG_VERSION').write_text('16\n')
    assert major_of(str(tmp_path)) == '16'
    assert major_of(str(tmp_path / 'missing')) is None
    layout = Layout(data_dir=str(tmp_path))
    assert layout.version == '16' and layout.bin_dir == '/usr/lib/postgresql/16/bin'


def test_a_named_debian_cluster_is_found_with_its_version():
    def clusters():
        return [{'cluster': 'main', 'version': 17, 'pgdata': '/srv/pg/17/main'},
                {'cluster': 'other', 'version': 15, 'pgdata': '/var/lib/postgresql/15/other'}]
    layout = Layout(cluster_name='main', clusters=clusters)
    assert (layout.version, layout.data_dir, layout.bin_dir, layout.config_file) == (
        '17', '/srv/pg/17/main', '/usr/lib/postgresql/17/bin', '/etc/postgresql/17/main/postgresql.conf')


def test_explicit_paths_win_and_no_version_is_assumed(tmp_path):
    layout = Layout(version='16', cluster_name='main', data_dir=str(tmp_path), bin_dir=str(tmp_path))
    assert layout.bin_dir == str(tmp_path) and layout.data_dir == str(tmp_path)
    assert layout.binary('pg_ctl') == os.path.join(str(tmp_path), 'pg_ctl')
    unknown = Layout(data_dir=str(tmp_path / 'nothing'), clusters=lambda: [])
    assert unknown.version is None and unknown.bin_dir is None
    with pytest.raises(ParameterError) as exc:
        unknown.binary('pg_ctl')
    assert exc.value.param == 'bin_dir' and 'give version' in str(exc.value)


def test_missing_binaries_name_the_package(tmp_path):
    (tmp_path / 'PG_VERSION').write_text('42\n')
    with pytest.raises(ParameterError) as exc:
        Layout(data_dir=str(tmp_path)).binary('pg_ctl')
    assert '/usr/lib/postgresql/42/bin does not exist' in str(exc.value) and 'postgresql-42' in str(exc.value)


def test_put_back_restores_the_previous_content_or_no_file(module, tmp_path):
    from ansible_collections.pgops.postgresql.plugins.module_utils._files import put_back, remove
    target = tmp_path / 'pg_hba.conf'
    target.write_text('new\n')
    put_back(module, str(target), 'old\n', mode=0o640)
    assert target.read_text() == 'old\n' and stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640
    put_back(module, str(target), None)
    assert not target.exists()
    (tmp_path / 'tree' / 'sub').mkdir(parents=True)
    os.symlink(str(tmp_path / 'tree'), str(tmp_path / 'link'))
    remove(str(tmp_path / 'link'))
    assert (tmp_path / 'tree' / 'sub').is_dir()
    remove(str(tmp_path / 'tree'))
    assert list(tmp_path.iterdir()) == []


def test_a_debian_config_of_another_data_directory_is_not_this_clusters(tmp_path, monkeypatch):
    """version and cluster_name with an explicit data_dir elsewhere: the Debian file of that name
    belongs to another cluster and must not be used (it would point a server at that data)."""
    conf_dir = tmp_path / 'etc' / '15' / 'main'
    conf_dir.mkdir(parents=True)
    (conf_dir / 'postgresql.conf').write_text("data_directory = '/var/lib/postgresql/15/main'\n")
    monkeypatch.setattr(_layout, 'DEBIAN_CONF', str(tmp_path / 'etc' / '%s' / '%s'))
    elsewhere = _layout.Layout('15', 'main', data_dir=str(tmp_path / 'data'), clusters=lambda: [])
    assert elsewhere.existing_config_file() is None
    own = _layout.Layout('15', 'main', data_dir='/var/lib/postgresql/15/main', clusters=lambda: [])
    assert own.existing_config_file() == str(conf_dir / 'postgresql.conf')
    given = _layout.Layout('15', 'main', data_dir=str(tmp_path / 'data'), config_file=str(conf_dir / 'postgresql.conf'),
                           clusters=lambda: [])
    assert given.existing_config_file() == str(conf_dir / 'postgresql.conf')
