# SPDX-License-Identifier: GPL-3.0-or-later
"""The Debian configuration of an upgraded cluster: only the settings naming the cluster's own paths move."""

from ansible_collections.pgops.postgresql.plugins.module_utils._upgrade import retarget_debian_conf

CONF = """data_directory = '/var/lib/postgresql/15/main'		# use data in another directory
hba_file = '/etc/postgresql/15/main/pg_hba.conf'	# host-based authentication file
ident_file = '/etc/postgresql/15/main/pg_ident.conf'
external_pid_file = '/var/run/postgresql/15-main.pid'
cluster_name = '15/main'
port = 5432
ssl_cert_file = '/etc/ssl/certs/15/server.pem'
#data_directory = '/var/lib/postgresql/15/old'
log_line_prefix = '%m [%p] 15/main '
"""


def test_only_the_clusters_own_paths_move():
    out = retarget_debian_conf(CONF, '15', '16').splitlines()
    assert out[0].startswith("data_directory = '/var/lib/postgresql/16/main'")
    assert out[1].startswith("hba_file = '/etc/postgresql/16/main/pg_hba.conf'")
    assert out[2] == "ident_file = '/etc/postgresql/16/main/pg_ident.conf'"
    assert out[3] == "external_pid_file = '/var/run/postgresql/16-main.pid'"
    assert out[4] == "cluster_name = '16/main'"
    assert out[5:] == CONF.splitlines()[5:]       # port, a certificate path, a comment, a prefix: untouched
