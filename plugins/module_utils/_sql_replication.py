# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""The catalog statements of the replication actions: one statement reads a node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Everything the actions need to know about one node, primary or standby, in one round trip.
NODE_FACTS = """
SELECT pg_is_in_recovery() AS in_recovery,
       (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
       CASE WHEN pg_is_in_recovery() THEN NULL
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS current_timeline,
       (SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_timeline,
       pg_last_wal_receive_lsn()::text AS receive_lsn,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       round(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::numeric, 3)::float AS replay_age_seconds,
       current_setting('synchronous_standby_names') AS synchronous_standby_names,
       current_setting('primary_slot_name') AS primary_slot_name,
       current_setting('wal_log_hints') AS wal_log_hints,
       current_setting('data_checksums') AS data_checksums,
       current_setting('data_directory') AS data_directory,
       (SELECT row_to_json(r) FROM (
          SELECT status, received_tli, sender_host, sender_port, slot_name, flushed_lsn::text AS flushed_lsn,
                 latest_end_lsn::text AS latest_end_lsn, last_msg_receipt_time::text AS last_msg_receipt_time
            FROM pg_stat_wal_receiver) r) AS receiver,
       (SELECT coalesce(json_agg(r ORDER BY r.application_name), '[]') FROM (
          SELECT application_name, client_addr::text AS client_addr, state, sync_state, sync_priority,
                 sent_lsn::text AS sent_lsn, flush_lsn::text AS flush_lsn, replay_lsn::text AS replay_lsn,
                 CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END
                   AS replay_lag_bytes,
                 round(extract(epoch FROM replay_lag)::numeric, 3)::float AS replay_lag_seconds,
                 (SELECT slot_name FROM pg_replication_slots s WHERE s.active_pid = a.pid) AS slot_name
            FROM pg_stat_replication a) r) AS replicas,
       (SELECT coalesce(json_agg(r ORDER BY r.slot_name), '[]') FROM (
          SELECT slot_name, slot_type, active, restart_lsn::text AS restart_lsn, wal_status,
                 CASE WHEN pg_is_in_recovery() OR restart_lsn IS NULL THEN NULL
                      ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END AS retained_bytes
            FROM pg_replication_slots) r) AS slots,
       (SELECT round(max(extract(epoch FROM now() - xact_start))::numeric, 1)::float
          FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND xact_start IS NOT NULL AND pid <> pg_backend_pid())
         AS longest_xact_seconds
"""

PROMOTE = 'SELECT pg_promote(true, %s) AS promoted'

WRITE_CHECK = 'SELECT txid_current()::text AS xid, pg_current_wal_lsn()::text AS lsn'

REPLAY_LSN = 'SELECT pg_last_wal_replay_lsn()::text AS replay_lsn, pg_last_wal_receive_lsn()::text AS receive_lsn'

SLOTS = 'SELECT slot_name, active FROM pg_replication_slots'

CREATE_SLOT = 'SELECT pg_create_physical_replication_slot(%s, true)'

DROP_SLOT = 'SELECT pg_drop_replication_slot(%s)'

RELOAD = 'SELECT pg_reload_conf()'

CHECKPOINT = 'CHECKPOINT'

# Read in a new session each time: it shows the value after the last reload.
SYNC_NAMES = "SELECT current_setting('synchronous_standby_names') AS value"

IN_RECOVERY = 'SELECT pg_is_in_recovery() AS in_recovery'
