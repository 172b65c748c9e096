"""Domain errors that services raise and every front end maps the same way.

Services raise Django's ValidationError (400) and PermissionDenied (403), Http404
through the access functions, and ConflictError (409) when a write lost a race
or was made against a stale version. The API's exception handler and the page
views translate them; services never know which front end called.
"""


class ConflictError(Exception):
    """409: someone else changed the record first (or a stale version was sent)."""

    def __init__(self, message: str, *, code: str = "conflict"):
        super().__init__(message)
        self.message = message
        self.code = code
