# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: pgops contributors
"""Safe SQL composition.

Identifiers are always quoted by ``psycopg2.sql.Identifier`` and values are
always passed as query parameters. The one exception, ``quoted``, writes identifiers into
remediation text the way ``Identifier`` does, for statements people copy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from psycopg2 import sql as _pgsql
    HAS_PSYCOPG2_SQL = True
except ImportError:  # pragma: no cover - reported by _connection
    _pgsql = None
    HAS_PSYCOPG2_SQL = False


def identifier(*parts):
    """A (possibly qualified) identifier: ``identifier('s', 't')`` -> "s"."t"."""
    return _pgsql.Identifier(*parts)


def quoted(*parts):
    """An identifier as text, quoted exactly as ``psycopg2.sql.Identifier`` quotes it (always in
    double quotes, inner quotes doubled): for remediation statements shown to people, which must
    run as they are whatever the name holds."""
    return '.'.join('"%s"' % str(p).replace('"', '""') for p in parts)


def literal(value):
    """A literal value, for the rare statements that take no parameters (DDL)."""
    return _pgsql.Literal(value)


def keywords(names):
    """Fixed option keywords (``VACUUM (FREEZE, ANALYZE)``): upper-case words of this code only."""
    for name in names:
        if not name.isalpha() or not name.isupper():
            raise ValueError('not a keyword: %r' % (name,))
    return _pgsql.SQL(', ').join(_pgsql.SQL(n) for n in names)


def compose(template, **names):
    """``compose('ANALYZE {table}', table=identifier('s', 't'))``."""
    return _pgsql.SQL(template).format(**names)


def as_text(statement, conn=None):
    """The statement as text, for the ``queries`` a module returns."""
    if isinstance(statement, str):
        return statement
    return statement.as_string(conn)
