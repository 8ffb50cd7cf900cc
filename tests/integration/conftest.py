# SPDX-License-Identifier: GPL-3.0-or-later
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pgcluster import PgCluster  # noqa: E402

# The test machine's disk is not under test: these thresholds keep a nearly full
# build disk from turning the "healthy cluster" assertions red.
RELAXED_DISK = {'disk_free_warning_pct': 1, 'disk_free_critical_pct': 0}


@pytest.fixture(scope='session')
def cluster():
    """A shared, healthy PostgreSQL 15 cluster (autovacuum off, prepared transactions allowed)."""
    c = PgCluster(settings={'autovacuum': 'off', 'max_prepared_transactions': 5}).start()
    yield c
    c.destroy()


@pytest.fixture()
def fresh_cluster():
    """A cluster of one's own, for tests that plant problems or stop the server."""
    c = PgCluster(settings={'autovacuum': 'off', 'max_prepared_transactions': 5}).start()
    yield c
    c.destroy()
