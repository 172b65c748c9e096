"""One error shape for the whole API: {"errors": [{"field", "code", "message"}]}.

Every error a view raises comes through `api_exception_handler`: DRF's own
(validation, 401, 403, 404, 405, 415, 429, ...), Django's `ValidationError`,
`PermissionDenied` and `Http404` raised by services and access functions, and
`Conflict` for stale writes. Views never catch errors to shape them themselves.
Paths under /api/ that match no view get the same shape from `not_found`.
"""

import math

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from calaim.errors import ConflictError


class Conflict(exceptions.APIException):
    """409: the write lost a race, e.g. `Conflict(code="stale_version")`."""

    status_code = 409
    default_detail = "The record was changed by someone else; read it again."
    default_code = "conflict"


def error(message, *, code: str, field: str | None = None) -> dict:
    return {"field": field, "code": code, "message": str(message)}


def errors_from_detail(detail, *, default_code: str, field: str | None = None):
    """Flatten DRF's error detail (nested dicts and lists) into one list.

    Nested fields are joined with dots: `addresses.0.zip`. Non-field errors have
    field None.
    """
    if isinstance(detail, dict):
        entries = []
        for key, value in detail.items():
            if key in (api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS):
                inner = field
            else:
                inner = f"{field}.{key}" if field else str(key)
            entries += errors_from_detail(value, default_code=default_code, field=inner)
        return entries
    if isinstance(detail, list):
        entries = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                inner = f"{field}.{index}" if field else str(index)
                entries += errors_from_detail(
                    item, default_code=default_code, field=inner
                )
            else:
                entries += errors_from_detail(
                    item, default_code=default_code, field=field
                )
        return entries
    code = getattr(detail, "code", None) or default_code
    return [error(detail, code=code, field=field)]


def _from_django_validation_error(exc: DjangoValidationError):
    def details(errors):
        return [
            exceptions.ErrorDetail(message, code=item.code or "invalid")
            for item in errors
            for message in item.messages
        ]

    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {field: details(errors) for field, errors in exc.error_dict.items()}
        )
    return exceptions.ValidationError(details(exc.error_list))


def _as_api_exception(exc):
    if isinstance(exc, Http404):
        # Never echo Http404's own message: it may name the model or the lookup.
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DjangoValidationError):
        return _from_django_validation_error(exc)
    if isinstance(exc, ConflictError):
        return Conflict(exc.message, code=exc.code)
    return exc


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every handled error in the one shape.

    Returns None for anything that is not an API error, so Django logs it and
    answers 500 (see `server_error`).
    """
    exc = _as_api_exception(exc)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        # What makes an anonymous call a 401 rather than a 403.
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))
    set_rollback()
    errors = errors_from_detail(exc.detail, default_code=exc.default_code)
    return Response({"errors": errors}, status=exc.status_code, headers=headers)


def is_api_path(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """404 for a path under /api/ that no view matches, in the API's shape."""
    return JsonResponse(
        {"errors": [error(exceptions.NotFound.default_detail, code="not_found")]},
        status=404,
    )


def server_error(request):
    """500 under /api/ in the API's shape; Django has logged the exception."""
    return JsonResponse(
        {"errors": [error("Something went wrong on our side.", code="server_error")]},
        status=500,
    )
