"""Filters every sync-style API list can use."""

from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend

UPDATED_SINCE = "updated_since"


def parse_updated_since(raw: str):
    """Parse an ISO 8601 date-time with a UTC offset, or raise a 400 naming the
    parameter.

    The offset is required: a bare local time is ambiguous across the daylight
    saving change, and a provider's system may not be on Pacific time.
    """
    hint = (
        "Give an ISO 8601 date-time with a UTC offset, e.g. 2026-01-31T08:00:00Z "
        "(write a + in the offset as %2B in a URL)."
    )
    try:
        value = parse_datetime(raw.strip())
    except ValueError:  # well formed but impossible, e.g. month 13
        value = None
    if value is None:
        raise exceptions.ValidationError(
            {UPDATED_SINCE: [exceptions.ErrorDetail(hint, code="invalid")]}
        )
    if value.tzinfo is None:
        raise exceptions.ValidationError(
            {UPDATED_SINCE: [exceptions.ErrorDetail(hint, code="timezone_required")]}
        )
    return value


class UpdatedSinceFilter(BaseFilterBackend):
    """`?updated_since=` keeps the rows changed at or after that moment.

    Add it to a list view's `filter_backends`; the view's `updated_since_field`
    names the timestamp (default `updated_at`, which should be indexed). Rows
    changed at exactly the given moment are included, so a client can pass the
    largest timestamp it saw without losing a row written in the same instant.
    """

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get(UPDATED_SINCE, "")
        if not raw:
            return queryset
        field = getattr(view, "updated_since_field", "updated_at")
        return queryset.filter(**{f"{field}__gte": parse_updated_since(raw)})

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": UPDATED_SINCE,
                "in": "query",
                "required": False,
                "description": "Only records changed at or after this moment "
                "(ISO 8601 with a UTC offset).",
                "schema": {"type": "string", "format": "date-time"},
            }
        ]
