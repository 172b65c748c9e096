"""Which function carries out each kind of outbox message.

The outbox sits in layer 0 and knows nothing of the apps above it; each app
registers the handlers for its kinds in its AppConfig.ready():

    @register_handler("notification.create")
    def create_notification(message): ...

A handler runs inside a database transaction together with the "delivered" mark,
so database effects commit exactly once. It must still be idempotent (a unique
constraint on the effect, or a check of the key), and an effect outside the database
(an e-mail) must be guarded by a row it claims first.
"""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_HANDLERS: dict[str, Callable] = {}


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register_handler(kind: str):
    """Decorator: make `func(message)` the handler of `kind`."""

    def decorator(func):
        existing = _HANDLERS.get(kind)
        if existing is not None and _name(existing) != _name(func):
            raise ImproperlyConfigured(
                f"Outbox kind {kind!r} already handled by {_name(existing)}"
            )
        _HANDLERS[kind] = func
        return func

    return decorator


def handler_for(kind: str) -> Callable:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"No outbox handler registered for {kind!r}") from None


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
