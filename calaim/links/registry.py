"""Which function carries out each kind of action link.

    register_link_action(
        "referrals.offer_reject",
        handler=reject_offer,        # handler(*, object_id, data, link) -> message
        form=RejectReasonForm,       # optional: fields asked on the confirmation page
        label="Decline a referral",  # shown on the page and in the e-mail
        summary=offer_summary,       # optional: summary(object_id) -> str, no PHI
    )

The handler runs inside the transaction that claims the link: if it raises, the
claim rolls back and the link stays usable. It returns the message shown to the
recipient.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class LinkAction:
    action: str
    handler: Callable
    form: type | None = None
    label: str = ""
    summary: Callable | None = None


_ACTIONS: dict[str, LinkAction] = {}


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register_link_action(action, *, handler, form=None, label=None, summary=None):
    existing = _ACTIONS.get(action)
    if existing is not None and _name(existing.handler) != _name(handler):
        raise ImproperlyConfigured(
            f"Link action {action!r} already handled by {_name(existing.handler)}"
        )
    _ACTIONS[action] = LinkAction(
        action=action,
        handler=handler,
        form=form,
        label=label or action.replace("_", " ").replace(".", ": "),
        summary=summary,
    )
    return handler


def link_action(action: str) -> LinkAction:
    try:
        return _ACTIONS[action]
    except KeyError:
        raise LookupError(f"No link action registered for {action!r}") from None


def registered_actions() -> list[str]:
    return sorted(_ACTIONS)


def unregister_link_action(action: str) -> None:
    """For tests that register a throwaway action."""
    _ACTIONS.pop(action, None)
