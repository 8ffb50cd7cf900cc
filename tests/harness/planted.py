# SPDX-License-Identifier: GPL-3.0-or-later
"""Maintenance and index problems planted in a harness cluster (autovacuum off on every table).

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


# Index problems (tests/integration/test_index_review_module.py says what each raises).
INDEX_PROBLEMS = """
CREATE TABLE big (id int PRIMARY KEY, a int, b int, note text) WITH (autovacuum_enabled = false);
INSERT INTO big SELECT g, g % 1000, g % 77, md5(g::text) FROM generate_series(1, 30000) g;
CREATE INDEX big_note ON big (note);
CREATE INDEX big_a_b ON big (a, b);
CREATE INDEX big_a ON big (a);
CREATE INDEX big_b1 ON big (b);
CREATE INDEX big_b2 ON big (b);
CREATE TABLE fixable (id int, k int) WITH (autovacuum_enabled = false);
INSERT INTO fixable SELECT g, g FROM generate_series(1, 100) g;
CREATE INDEX fixable_k ON fixable (k);
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'fixable_k'::regclass;
CREATE TABLE bloated (id int, v text) WITH (autovacuum_enabled = false);
INSERT INTO bloated SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
CREATE INDEX bloated_v ON bloated (v);
DELETE FROM bloated WHERE id % 10 <> 0;
CREATE TABLE child (id int PRIMARY KEY, big_id int REFERENCES big (id));
INSERT INTO child SELECT g, g FROM generate_series(1, 100) g;
CREATE TABLE child_ok (id int PRIMARY KEY, big_id int REFERENCES big (id));
CREATE INDEX child_ok_big_id ON child_ok (big_id);
CREATE TABLE scanned (id int, v int) WITH (autovacuum_enabled = false);
INSERT INTO scanned SELECT g, g % 100 FROM generate_series(1, 20000) g;
"""

# Scans that make the indexes that should count as used, used.
INDEX_USE = """
SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*) FROM bloated WHERE v = md5('10');
SELECT count(*) FROM big WHERE a = 3 AND b = 3;
SELECT count(*) FROM big WHERE b = 3;
"""


def plant_index_problems(cluster, db):
    """INDEX_PROBLEMS in ``db``, vacuumed and analyzed, the INDEX_USE scans and 120 sequential scans of
    ``scanned``, waiting until the statistics show them."""
    cluster.psql(INDEX_PROBLEMS, db=db)
    cluster.psql('VACUUM ANALYZE', db=db)
    cluster.psql(INDEX_USE, db=db)
    cluster.psql(';'.join(['SELECT count(*) FROM scanned WHERE v = 5'] * 120), db=db)
    assert wait_for(lambda: cluster.psql("SELECT seq_scan >= 120 FROM pg_stat_user_tables WHERE relname = 'scanned'",
                                         db=db) == 't', 10)
