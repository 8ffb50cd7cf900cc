# SPDX-License-Identifier: GPL-3.0-or-later
"""A history of daily reports on the controller for the capacity forecast, from one real health check.

The metrics of a real ``health_check`` run are written as ``root/YYYY-MM-DD/<host>.json`` (the
shape the report module writes) for each of ``days`` past days, with the used space of the data
file system and the size of one table changed by ``grow(day)`` (days count back from today).
"""

import copy
import datetime
import json
import os


def write(root, host, metrics, days, disk_used, table=None, table_bytes=None):
    """``disk_used(age)``: used bytes of the first file system ``age`` days ago; ``table``: (database,
    schema, name) whose size ``table_bytes(age)`` gives."""
    today = datetime.date.today()
    for age in range(days, 0, -1):
        day = (today - datetime.timedelta(days=age)).isoformat()
        m = copy.deepcopy(metrics)
        fs = m['disk'][0]
        fs['free_bytes'] = fs['total_bytes'] - int(disk_used(age))
        if table:
            db, schema, name = table
            largest = m['databases'][db].setdefault('largest_tables', []) or []
            largest = [t for t in largest if (t['schemaname'], t['relname']) != (schema, name)]
            largest.append({'schemaname': schema, 'relname': name, 'bytes': int(table_bytes(age))})
            m['databases'][db]['largest_tables'] = largest
        os.makedirs(os.path.join(root, day), exist_ok=True)
        with open(os.path.join(root, day, host + '.json'), 'w') as fh:
            json.dump({'title': 'daily', 'generated_at': day, 'hosts': [{'host': host, 'metrics': m, 'findings': []}]},
                      fh)


def write_run(root, kind, day, results, time='06:00:00'):
    """One run's fleet report ``root/<kind>/<day>/fleet-summary.json`` (the shape the report module
    writes): ``results`` {host: result with findings and metrics}; a result with only ``msg`` stands
    for a host the run did not reach."""
    hosts = []
    for host, result in results.items():
        entry = dict(result, host=host)
        if 'findings' not in entry:
            entry['findings'] = [{'id': 'report.no_result', 'severity': 'critical', 'object': host,
                                  'observed': result.get('msg', 'no result'), 'waived': False}]
        hosts.append(entry)
    path = os.path.join(root, kind, day)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, 'fleet-summary.json'), 'w') as fh:
        json.dump({'title': kind, 'generated_at': '%s %s UTC' % (day, time), 'hosts': hosts}, fh)
