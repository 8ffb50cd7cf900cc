# SPDX-License-Identifier: GPL-3.0-or-later
"""Maintenance problems planted in a harness cluster (autovacuum off on every table).

``plant(cluster, db, extra)`` creates a table never analyzed (``stale``), a table with half its rows
dead (``dead``) and an index marked invalid that a rebuild repairs (``fixable_k``), then runs
``extra`` in the same session, and waits until the statistics show the dead rows.
"""

from tests.harness.pgcluster import wait_for

COMMON = """
CREATE TABLE stale (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
INSERT INTO stale SELECT g, 'x' FROM generate_series(1, 20000) g;
CREATE TABLE dead (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false);
INSERT INTO dead SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g;
ANALYZE dead;
DELETE FROM dead WHERE id % 2 = 0;
CREATE TABLE fixable (id int, k int) WITH (autovacuum_enabled = false);
INSERT INTO fixable SELECT g, g FROM generate_series(1, 100) g;
CREATE INDEX fixable_k ON fixable (k);
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'fixable_k'::regclass;
ANALYZE fixable;
"""


def plant(cluster, db='postgres', extra=''):
    cluster.psql(COMMON + extra, db=db)
    assert wait_for(lambda: cluster.psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'dead'",
                                         db=db) == '10000', 10)
