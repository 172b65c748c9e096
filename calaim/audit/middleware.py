"""Request ids and the one-audit-event-per-request writer."""

import re
import uuid

from calaim.audit.context import PendingEvent, current_event, current_request_id
from calaim.audit.services import audit_write_request_event

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed X-Request-ID from the proxy)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = (
            incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class AuditMiddleware:
    """Collect what the request touched and write it as one AuditEvent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending = PendingEvent(request_id=getattr(request, "request_id", ""))
        token = current_event.set(pending)
        try:
            response = self.get_response(request)
        finally:
            current_event.reset(token)
        if pending.action:
            audit_write_request_event(
                request=request, pending=pending, status_code=response.status_code
            )
        return response
