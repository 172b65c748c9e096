"""Which function processes each type of stored HL7 message.

The intake stores and acknowledges; what a message means is decided by the app
above it, which registers a processor in its AppConfig.ready():

    @register_processor("ADT")
    def process(message: InboundMessage) -> str: ...

The processor runs inside a transaction in which the intake holds the message row
locked (SELECT ... FOR UPDATE), so its effects commit together with the message's
new status and processed_at, or not at all. It returns that status: "processed",
"unmatched", "ignored" or "failed". It must be idempotent: a message whose worker
died mid-run is processed again.
"""

from collections.abc import Callable
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured

_PROCESSORS: dict[str, Callable] = {}
# Set by tests only (replace_processor): wins over the registered processor.
_REPLACED: dict[str, Callable] = {}


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register_processor(message_type: str):
    """Decorator: make `func(message) -> status` the processor of `message_type`."""

    def decorator(func):
        existing = _PROCESSORS.get(message_type)
        if existing is not None and _name(existing) != _name(func):
            raise ImproperlyConfigured(
                f"HL7 {message_type} messages already processed by {_name(existing)}"
            )
        _PROCESSORS[message_type] = func
        return func

    return decorator


def processor_for(message_type: str) -> Callable:
    """The processor of `message_type`; LookupError when none is registered."""
    try:
        return _REPLACED.get(message_type) or _PROCESSORS[message_type]
    except KeyError:
        raise LookupError(f"No HL7 processor for {message_type!r} messages") from None


def replace_processor(message_type: str, func: Callable | None) -> None:
    """Use `func` instead of the registered processor (None: stop doing so).

    For tests, which prove the delivery with a processor of their own, also in a
    worker process that imports the test module (`celery worker --include`).
    """
    if func is None:
        _REPLACED.pop(message_type, None)
    else:
        _REPLACED[message_type] = func


@contextmanager
def replaced_processor(message_type: str, func: Callable):
    """`replace_processor` for the duration of a with-block."""
    previous = _REPLACED.get(message_type)
    replace_processor(message_type, func)
    try:
        yield func
    finally:
        replace_processor(message_type, previous)
