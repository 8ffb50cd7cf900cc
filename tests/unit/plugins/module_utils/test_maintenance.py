# SPDX-License-Identifier: GPL-3.0-or-later
"""The maintenance plan from tables of candidates: which action, in which order, within the budget."""

from ansible_collections.pgops.postgresql.plugins.module_utils import _maintenance as mnt

TH = mnt.thresholds_with_defaults({})[0]
ALL = tuple(mnt.ACTIONS)


def table(name, live=10000, dead=0, mods=0, never=False, xid=1000, schema='public'):
    return dict(schemaname=schema, relname=name, oid=1, bytes=live * 100, n_live_tup=live, n_dead_tup=dead,
                n_mod_since_analyze=mods, never_analyzed=never, xid_age=xid)


def index(name, valid=True, bloat=None, size=64 * 1024 * 1024, method='estimate'):
    return dict(schemaname='public', indexname=name, tablename='t', valid=valid, bytes=size, backs_constraint=False,
                oid=2, bloat_method=method if bloat is not None else None, bloat_pct=bloat)


def planned(tables=(), indexes=(), th=None, actions=ALL, max_objects=50):
    items, over = mnt.plan({'app': {'tables': list(tables), 'indexes': list(indexes)}}, th or TH, actions, max_objects)
    return [(i['action'], i['name']) for i in items], [(i['action'], i['name']) for i in over]


def test_nothing_to_do_on_healthy_tables():
    assert planned([table('ok', mods=100), table('few_dead', dead=500)], [index('i', bloat=10)]) == ([], [])


def test_each_reason_gives_its_action_in_order_of_benefit():
    items, over = planned(
        [table('modified', mods=3000), table('fresh', never=True, mods=600), table('dead', dead=5000, mods=100),
         table('old', xid=200000000), table('dead_and_stale', dead=6000, mods=6000)],
        [index('bloated', bloat=60), index('broken', valid=False), index('t_ccnew', valid=False)])
    assert items == [('vacuum freeze', 'old'), ('drop leftover', 't_ccnew'), ('reindex', 'broken'),
                     ('analyze', 'fresh'), ('vacuum analyze', 'dead_and_stale'), ('vacuum', 'dead'),
                     ('analyze', 'modified'), ('reindex', 'bloated')]
    assert over == []


def test_staleness_is_changes_against_size_not_age():
    # 600 changes: stale for 5,000 rows (12%), not for 100,000 rows (0.6%)
    assert planned([table('small', live=5000, mods=600), table('big', live=100000, mods=600)])[0] == [
        ('analyze', 'small')]


def test_the_object_budget_cuts_the_ordered_plan():
    items, over = planned([table('a', dead=9000), table('b', dead=8000), table('c', dead=7000)], max_objects=2)
    assert items == [('vacuum', 'a'), ('vacuum', 'b')] and over == [('vacuum', 'c')]


def test_actions_limit_what_is_planned():
    tables = [table('dead', dead=5000, mods=5000)]
    assert planned(tables, actions=['analyze'])[0] == [('analyze', 'dead')]
    assert planned(tables, actions=['vacuum'])[0] == [('vacuum', 'dead')]
    assert planned(tables, [index('broken', valid=False)], actions=['reindex'])[0] == [('reindex', 'broken')]


def test_small_or_unmeasured_indexes_are_not_rebuilt():
    assert planned([], [index('small', bloat=90, size=1024 * 1024), index('unknown', bloat=None)])[0] == []


def test_statements_quote_identifiers():
    candidates = {'app': {'tables': [table('we"ird; DROP', never=True, mods=1000, schema='S')], 'indexes': []}}
    items = mnt.plan(candidates, TH, ALL, 10)[0]
    assert items[0]['object'] == '"app"."S"."we""ird; DROP"'
    assert items[0]['_statement'].seq[1].strings == ('S', 'we"ird; DROP')


def test_thresholds_are_checked():
    assert mnt.thresholds_with_defaults({'vacuum_dead_ratio': 2})[1].startswith("threshold 'vacuum_dead_ratio' is 2")
    assert 'unknown threshold' in mnt.thresholds_with_defaults({'nope': 1})[1]
    assert 'must be a number' in mnt.thresholds_with_defaults({'analyze_min_changes': 'many'})[1]
    assert mnt.thresholds_with_defaults({'reindex_bloat_pct': '55'})[0]['reindex_bloat_pct'] == 55.0
