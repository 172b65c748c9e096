"""Set-based writes through PostgreSQL COPY, for imports at plan scale.

Django's bulk_create spends most of its time building one huge parameterised
statement; COPY streams rows in PostgreSQL's own format and is several times
faster (bench/import_834.py). These helpers keep model semantics where it matters:
auto_now fields are filled, keys can be allocated up front so related rows can be
written in the same batch, and everything runs inside the caller's transaction.
"""

import enum
import functools
import re
from collections.abc import Iterable, Sequence

from django.db import connection, models
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb

from calaim.prepared import statement_cursor


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve `count` primary keys from the model's sequence (or identity)."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        # The sequence named once: pg_get_serial_sequence per key was most of the
        # cost of this statement, as were one row per key.
        cursor.execute(
            "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
            [_sequence(model._meta.db_table, model._meta.pk.column), count],
        )
        return cursor.fetchone()[0]


@functools.cache
def _sequence(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        return cursor.fetchone()[0]


def _fields(model, names: Sequence[str] | None, *, with_pk: bool):
    if names is None:
        return [
            field
            for field in model._meta.concrete_fields
            if with_pk or not field.primary_key
        ]
    return [model._meta.get_field(name) for name in names]


def _value(field, obj, now):
    if getattr(field, "auto_now", False) or (
        getattr(field, "auto_now_add", False) and getattr(obj, field.attname) is None
    ):
        setattr(obj, field.attname, now)
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField) and value is not None:
        return Jsonb(value)
    if isinstance(value, enum.Enum):  # a choices member: what the column stores
        return value.value
    return value


def _copy(cursor, table: str, columns: list[str], rows: Iterable[Sequence]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    # The raw psycopg cursor: its errors become Django's (IntegrityError...) here.
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


# COPY's text format: columns split by tabs, rows by newlines, NULL as \N; a
# backslash, tab, newline or carriage return inside a value is escaped.
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\n\r]").search


def text_fields(values: Sequence[str]) -> str:
    """Text values as consecutive columns of a COPY text row, escaped as needed.

    For callers that build rows themselves (an import adding 100,000 members
    formats them while the database writes the previous batch): one join and
    two scans per row, escaping only a row that holds a special character."""
    line = "\t".join(values)
    if _NEEDS_ESCAPE(line) or line.count("\t") != len(values) - 1:
        line = "\t".join(value.translate(_ESCAPES) for value in values)
    return line


def copy_text(table: str, columns: Sequence[str], payload: str) -> None:
    """COPY rows already in PostgreSQL's text format (see text_fields): each
    row ends with a newline."""
    if not payload:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement) as copy,
    ):
        copy.write(payload.encode())


def copy_insert(model, objs: Iterable[models.Model], *, with_pk: bool = True) -> int:
    """INSERT every object with COPY. With `with_pk`, their keys must be set
    (see allocate_ids); otherwise the database assigns them (and they stay
    unknown to the objects)."""
    objs = list(objs)
    if not objs:
        return 0
    fields = _fields(model, None, with_pk=with_pk)
    now = timezone.now()
    with connection.cursor() as cursor:
        _copy(
            cursor,
            model._meta.db_table,
            [field.column for field in fields],
            ([_value(field, obj, now) for field in fields] for obj in objs),
        )
    return len(objs)


def _staging(cursor, model, fields) -> str:
    staging = f"staging_{model._meta.db_table}"
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(staging)))
    cursor.execute(
        sql.SQL("CREATE TEMP TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(staging),
            sql.SQL(", ").join(sql.Identifier(field.column) for field in fields),
            sql.Identifier(model._meta.db_table),
        )
    )
    return staging


def copy_update(model, objs: Iterable[models.Model], field_names: Sequence[str]) -> int:
    """UPDATE the given fields of existing objects: COPY into a staging table,
    then one UPDATE ... FROM."""
    objs = list(objs)
    if not objs:
        return 0
    pk = model._meta.pk
    fields = [pk, *_fields(model, field_names, with_pk=False)]
    now = timezone.now()
    with connection.cursor() as cursor:
        staging = _staging(cursor, model, fields)
        _copy(
            cursor,
            staging,
            [field.column for field in fields],
            ([_value(field, obj, now) for field in fields] for obj in objs),
        )
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = s.{}").format(
                sql.Identifier(f.column), sql.Identifier(f.column)
            )
            for f in fields[1:]
        )
        cursor.execute(
            sql.SQL("UPDATE {} t SET {} FROM {} s WHERE t.{} = s.{}").format(
                sql.Identifier(model._meta.db_table),
                assignments,
                sql.Identifier(staging),
                sql.Identifier(pk.column),
                sql.Identifier(pk.column),
            )
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(staging)))
    return len(objs)


def copy_upsert(
    model,
    objs: Iterable[models.Model],
    *,
    conflict_fields: Sequence[str],
    update_fields: Sequence[str],
) -> int:
    """INSERT ... ON CONFLICT DO UPDATE, fed by COPY through a staging table."""
    objs = list(objs)
    if not objs:
        return 0
    fields = _fields(model, None, with_pk=False)
    columns = [field.column for field in fields]
    conflict = [model._meta.get_field(name).column for name in conflict_fields]
    updates = [model._meta.get_field(name).column for name in update_fields]
    now = timezone.now()
    with connection.cursor() as cursor:
        staging = _staging(cursor, model, fields)
        _copy(
            cursor,
            staging,
            columns,
            ([_value(field, obj, now) for field in fields] for obj in objs),
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} ({}) SELECT {} FROM {} "
                "ON CONFLICT ({}) DO UPDATE SET {}"
            ).format(
                sql.Identifier(model._meta.db_table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.Identifier(staging),
                sql.SQL(", ").join(map(sql.Identifier, conflict)),
                sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(
                        sql.Identifier(column), sql.Identifier(column)
                    )
                    for column in updates
                ),
            )
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(staging)))
    return len(objs)


def insert_returning(model, objs: Sequence[models.Model]) -> None:
    """INSERT the objects (keys from the sequence) in one multi-row statement and
    set their keys, in order.

    For small batches on a hot path (the MLLP listener's): bulk_create prepares
    every value through the field API, which cost more than the INSERT. Values go
    as they are on the instances (JSON as Jsonb; auto_now(_add) filled), so they
    must already be what the column stores. A constraint violation raises
    IntegrityError, as bulk_create does, and inserts nothing.
    """
    if not objs:
        return
    fields, head = _plain_insert(model)
    now = timezone.now()
    values = [_value(field, obj, now) for obj in objs for field in fields]
    # Native $n placeholders, values bound and the statement prepared by the
    # server: Django's cursor binds on the client, which re-parses a statement
    # of more than 50 parameters on every call (psycopg caches only smaller
    # ones) and quotes every value into it, and PostgreSQL planned it each time.
    with statement_cursor(raw=True) as cursor:
        cursor.execute(f"{head} {_placeholders(len(fields), len(objs))} "
                       f"RETURNING {_pk(model)}", values)  # fmt: skip
        keys = [found[0] for found in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias


@functools.lru_cache(maxsize=256)
def _placeholders(width: int, rows: int) -> str:
    """'($1, $2), ($3, $4)' for rows of `width` values."""
    numbers = iter(range(1, width * rows + 1))
    return ", ".join(
        "(" + ", ".join(f"${next(numbers)}" for _ in range(width)) + ")"
        for _ in range(rows)
    )


@functools.cache
def _plain_insert(model):
    fields = _fields(model, None, with_pk=False)
    head = sql.SQL("INSERT INTO {} ({}) VALUES").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(field.column) for field in fields),
    )
    return fields, head.as_string(None)


def _pk(model) -> str:
    return sql.Identifier(model._meta.pk.column).as_string(None)


@functools.cache
def _insert_statement(model, with_pk: bool, conflict_fields, conflict_where: str):
    """The fields and the SQL of `insert_unless_conflict`, composed once."""
    fields = _fields(model, None, with_pk=with_pk)
    statement = sql.SQL(
        "INSERT INTO {table} ({columns}) VALUES ({values}) "
        "ON CONFLICT ({conflict}){where} DO NOTHING RETURNING {pk}"
    ).format(
        table=sql.Identifier(model._meta.db_table),
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
        values=sql.SQL(", ").join(sql.Placeholder() * len(fields)),
        conflict=sql.SQL(", ").join(
            sql.Identifier(model._meta.get_field(name).column)
            for name in conflict_fields
        ),
        where=sql.SQL(f" WHERE {conflict_where}" if conflict_where else ""),
        pk=sql.Identifier(model._meta.pk.column),
    )
    # Identifiers only: quoting them does not depend on the connection.
    return fields, statement.as_string(None)


def insert_unless_conflict(
    obj: models.Model, conflict_fields: Sequence[str], *, conflict_where: str = ""
) -> bool:
    """INSERT `obj` unless a row with the same `conflict_fields` exists; return
    whether it was inserted (its pk is then set).

    One statement (INSERT ... ON CONFLICT DO NOTHING RETURNING) in place of
    get_or_create's SELECT, savepoint, INSERT and release, with the same outcome
    under concurrency: of two callers racing, exactly one inserts. The conflict
    fields must be those of a unique constraint (or index); for a constraint with
    a condition, `conflict_where` repeats that condition as SQL (a constant of the
    caller's, never input), e.g. `NOT (visit_number = '')`. The caller fetches
    the existing row when it needs it.
    """
    model = type(obj)
    fields, statement = _insert_statement(
        model, obj.pk is not None, tuple(conflict_fields), conflict_where
    )
    for field in fields:
        field.pre_save(obj, True)  # auto_now(_add) and similar
    values = [
        field.get_db_prep_save(getattr(obj, field.attname), connection)
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True
