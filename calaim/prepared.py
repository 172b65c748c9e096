"""Querysets built and compiled once per process, run with new values.

Building a queryset (filter, select_related, only, order_by: a clone each) and
compiling it to SQL costs more than running it for the small per-member reads
of the member chart: a panel's one query spent three quarters of its time in
Python before it reached the database. `prepared_list(key, build, *values)`
builds the queryset once with marker values in place of `values`, compiles it,
remembers where the markers landed in the SQL parameters, and from then on runs
that SQL with the real values and turns the rows into model instances the way
QuerySet iteration does (select_related objects and annotations included).

Only what the SQL parameters carry may vary (ids, dates, strings): the shape of
the query (slices, which filters apply, booleans) belongs in `key`. The result
is a list of instances, exactly what `list(build(*values))` returns.

On PostgreSQL the SQL also runs as a prepared statement (`statement_cursor`):
the server parses and plans each statement once per connection instead of on
every request. For the chart's small reads planning cost more than running: its
18 built queries took about 8 ms as plain statements and 2.6 ms prepared (the
bench database of 10,000 members).

`fresh`: a part compiled on every call and put in place of
`fresh_placeholder()` in the built queryset, for a part that must not be cached
as SQL, such as the access registry's rules, which read the clock themselves.
Either a queryset, for a subquery every row needs to be in
(`field__in=fresh_placeholder()` among the filters; when it is empty there are
no rows), or an expression over the rows of the built queryset's model, such as
`registry.visibility_condition(user)`, for an annotation
(`annotate(name=fresh_placeholder(BooleanField()))`). The expression may refer
to the row (OuterRef in its subqueries) but not join other tables to it.
"""

import re
import sys
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime
from threading import Lock

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import get_related_populators
from django.db.models.sql import Query
from psycopg.pq import Format

FRESH_SQL = "SELECT calaim_prepared_fresh"
_PLACEHOLDER = re.compile(r"(?<!%)%s")


def fresh_placeholder(output_field=None) -> RawSQL:
    """The stand-in, in a built queryset, for the `fresh` part (a subquery, or
    with `output_field` an expression)."""
    # A constant, replaced before it runs.
    return RawSQL(FRESH_SQL, (), output_field=output_field)  # noqa: S611


_cache: dict = {}
_lock = Lock()


class _Preparing:
    """Binds parameters server-side and prepares every statement it runs; psycopg
    keeps the statements per connection (at most `prepared_max`, the least used
    deallocated first, all of them after a rollback), one per SQL text and
    parameter types (a plain int is sent as int2, int4 or int8 by its size).

    Django turns psycopg's preparing off (`prepare_threshold` None, for
    connection poolers), which also ignores `prepare=True`; it is switched on
    only while this cursor executes, so no other statement is prepared. With
    `prepare` False (DATABASE_PREPARED_STATEMENTS=false) it only binds."""

    prepare = True

    def execute(self, query, params=None, **kwargs):
        if not self.prepare:
            return super().execute(query, params, **kwargs)
        connection = self.connection
        threshold = connection.prepare_threshold
        connection.prepare_threshold = sys.maxsize  # never automatically
        try:
            return super().execute(query, params, prepare=True, **kwargs)
        finally:
            connection.prepare_threshold = threshold


class _PreparingCursor(_Preparing, psycopg.Cursor):
    pass


class _PreparingRawCursor(_Preparing, psycopg.RawCursor):
    """PostgreSQL's own `$1` placeholders: the query text is sent as it is. For
    statements with many parameters (a multi-row INSERT), which psycopg would
    otherwise parse on every run (it caches that for 50 parameters at most)."""


@contextmanager
def statement_cursor(using: str = DEFAULT_DB_ALIAS, *, raw: bool = False):
    """A cursor whose statements PostgreSQL parses and plans once per connection.

    It is Django's cursor wrapper (health check, query log and count, execute
    wrappers, error translation) around a psycopg cursor that binds parameters
    on the server (`%s` and `%(name)s` as usual, or `$1` with `raw`) and
    prepares the statement. For a fixed SQL text run with new values on a hot
    path; every other query keeps Django's client-side binding. Off with
    DATABASE_PREPARED_STATEMENTS=false (behind a transaction-pooling PgBouncer
    older than 1.21): then it is Django's plain cursor (a binding one with `raw`).
    """
    connection = connections[using]
    prepare = settings.DATABASE_PREPARED_STATEMENTS
    if connection.vendor != "postgresql" or not (prepare or raw):
        with connection.cursor() as cursor:
            yield cursor
        return
    # What connection.cursor() does, with our psycopg cursor in place of the
    # client-side one Django would create.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw_cursor = (_PreparingRawCursor if raw else _PreparingCursor)(
            connection.connection
        )
        raw_cursor.prepare = prepare
        _use_connection_timezone(connection, raw_cursor)
        connection.validate_thread_sharing()
        cursor = (
            _LoggedCursor(raw_cursor, connection)
            if connection.queries_logged
            else connection.make_cursor(raw_cursor)
        )
    with cursor:
        yield cursor


class _LoggedCursor(CursorDebugWrapper):
    """Logs each statement with its values in place, as Django logs a query
    bound server-side (its own log reads what a client-side cursor sent, which
    a prepared statement leaves empty)."""

    def execute(self, sql, params=None):
        try:
            shown = self.db.ops.compose_sql(sql, params)
        except psycopg.Error:  # a value it cannot show; `$1` placeholders
            shown = sql
        with self.debug_sql(shown, params):
            return CursorWrapper.execute(self, sql, params)


def _use_connection_timezone(connection, cursor) -> None:
    """Django's create_cursor: the cursor loads timestamps in the connection's
    time zone when it has changed since the connection was opened (tests)."""
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)


def _marker(index: int, value):
    if isinstance(value, bool):
        raise TypeError("booleans cannot be markers: put them in the key")
    if isinstance(value, int):
        return -987_654_000 - index
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=(0x9E3A_11C0_0000_0000 << 64) + index)
    if isinstance(value, datetime):
        return datetime(1001 + index, 1, 1, tzinfo=UTC)
    if isinstance(value, date):
        return date(1001 + index, 1, 1)
    if isinstance(value, str):
        return f"\x01prepared-{index}\x01"
    raise TypeError(f"no marker for {type(value).__name__}")


class _Prepared:
    def __init__(self, queryset, markers):
        self.db = queryset.db
        compiler = queryset.query.get_compiler(using=self.db)
        sql, params = compiler.as_sql()
        self.sql, self.params = sql, list(params)
        self.fresh_at = None
        if FRESH_SQL in sql:
            if sql.count(FRESH_SQL) != 1:
                raise ValueError("one fresh part at most")
            before, _ = sql.split(FRESH_SQL)
            self.fresh_at = (before, len(_PLACEHOLDER.findall(before)))
        self.positions = []
        for marker in markers:
            found = [i for i, param in enumerate(self.params) if param == marker]
            if not found:
                raise ValueError("a value does not reach the SQL as a parameter")
            self.positions.append(found)
        self.compiler = compiler
        klass_info, select = compiler.klass_info, compiler.select
        self.model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.span = (start, end)
        self.init_list = [f[0].target.attname for f in select[start:end]]
        self.annotations = compiler.annotation_col_map or {}
        self.col_count = compiler.col_count
        self.trim = compiler.has_extra_select
        fields = [s[0] for s in select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        self.klass_info, self.select = klass_info, select
        self.base_table = queryset.query.base_table
        if queryset._known_related_objects or queryset._prefetch_related_lookups:
            raise ValueError("related managers and prefetches are not supported")

    def run(self, values, fresh=None) -> list:
        params = list(self.params)
        for found, value in zip(self.positions, values, strict=True):
            for index in found:
                params[index] = value
        sql = self.sql
        if (fresh is None) != (self.fresh_at is None):
            raise ValueError("the fresh part and its placeholder go together")
        if fresh is not None:
            if isinstance(fresh, QuerySet):
                if fresh.query.is_empty():
                    return []
                compiler = fresh.query.get_compiler(using=self.db)
                fresh_sql, fresh_params = compiler.as_sql()
            else:
                fresh_sql, fresh_params = self._compile_expression(fresh)
            before, count = self.fresh_at
            sql = before + fresh_sql + sql[len(before) + len(FRESH_SQL) :]
            params[count:count] = list(fresh_params)
        with statement_cursor(self.db) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if self.trim:
            rows = [row[: self.col_count] for row in rows]
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        populators = get_related_populators(self.klass_info, self.select, self.db)
        start, end = self.span
        objects = []
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def _compile_expression(self, expression):
        """`expression` as SQL over the rows of the built query's base table,
        whose alias is its table name there as in a query of its own."""
        query = Query(self.model)
        resolved = expression.resolve_expression(query, allow_joins=False)
        if len(query.alias_map) > 1 or query.base_table not in (None, self.base_table):
            raise ValueError("the fresh expression joins other tables")
        return query.get_compiler(using=self.db).compile(resolved)


def prepared_list(key, build, *values, fresh=None) -> list:
    """`list(build(*values))`, with the queryset built and compiled once per
    `key` (see the module docstring)."""
    prepared = _cache.get(key)
    if prepared is None:
        markers = [_marker(index, value) for index, value in enumerate(values)]
        prepared = _Prepared(build(*markers), markers)
        with _lock:
            prepared = _cache.setdefault(key, prepared)
    return prepared.run(values, fresh)
