"""The closed-loop referral state machine (DOMAIN.md §10c), as data.

    draft -> requested -> received -> accepted | rejected
    accepted -> in_progress <-> on_hold -> completed | failed
    cancelled from any open state

Plan authorization sits between draft and requested: a referral that needs it
stays a draft until the plan approves (or modifies) it. A reason is required for
rejected, on_hold, failed and cancelled.

`TRANSITIONS` maps (from status, action) to the new status. Services look the
move up with `next_status`, which raises the one specific error for an illegal
move, so the pages, the API and the action links refuse the same things with
the same words. Pure: no database, no Django models.
"""

from django.core.exceptions import ValidationError
from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    REQUESTED = "requested", "Requested"
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


S = Status
CLOSED = frozenset({S.REJECTED, S.COMPLETED, S.FAILED, S.CANCELLED})
OPEN = frozenset(set(S.values) - CLOSED)
REASON_REQUIRED = frozenset({S.REJECTED, S.ON_HOLD, S.FAILED, S.CANCELLED})

# (from, action) -> to. Actions are the verbs of the services and the API.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, "request"): S.REQUESTED,
    (S.DRAFT, "deny"): S.REJECTED,
    (S.REQUESTED, "offer"): S.RECEIVED,
    (S.REQUESTED, "deny"): S.REJECTED,
    (S.REQUESTED, "exhaust"): S.REJECTED,
    (S.RECEIVED, "accept"): S.ACCEPTED,
    # A provider's rejection leaves the referral open (the next provider gets an
    # offer: received -> received); only when nobody is left is it rejected.
    (S.RECEIVED, "reoffer"): S.RECEIVED,
    (S.RECEIVED, "exhaust"): S.REJECTED,
    (S.ACCEPTED, "start"): S.IN_PROGRESS,
    (S.ACCEPTED, "hold"): S.ON_HOLD,
    (S.ACCEPTED, "fail"): S.FAILED,
    (S.IN_PROGRESS, "hold"): S.ON_HOLD,
    (S.IN_PROGRESS, "complete"): S.COMPLETED,
    (S.IN_PROGRESS, "fail"): S.FAILED,
    (S.ON_HOLD, "resume"): S.IN_PROGRESS,
    (S.ON_HOLD, "fail"): S.FAILED,
    **{(status, "cancel"): S.CANCELLED for status in OPEN},
}
ACTIONS = frozenset(action for _, action in TRANSITIONS)

# The DHCS RTF projection (DOMAIN.md §4b, §10c): Referral Status and Reason for
# Referral Loop Closure. The DHCS value list was not found (DOMAIN.md §11); these
# are our labels, kept as data.
RTF_STATUS = {
    S.DRAFT: "Draft",
    S.REQUESTED: "Referral Sent",
    S.RECEIVED: "Referral Received",
    S.ACCEPTED: "Referral Accepted",
    S.REJECTED: "Referral Rejected",
    S.IN_PROGRESS: "Services In Progress",
    S.ON_HOLD: "On Hold",
    S.COMPLETED: "Loop Closed",
    S.FAILED: "Loop Closed",
    S.CANCELLED: "Loop Closed",
}
SERVICES_RECEIVED = "Services Received"
LOOP_CLOSURE = {
    S.COMPLETED: SERVICES_RECEIVED,
    S.FAILED: "Services Not Received",
    S.REJECTED: "Referral Rejected",
    S.CANCELLED: "Referral Cancelled",
}


def _illegal(status: str, action: str) -> ValidationError:
    label = dict(S.choices).get(status, status).lower()
    message = f"Cannot {action.replace('_', ' ')} a referral that is {label}."
    return ValidationError(
        {"status": ValidationError(message, code="illegal_transition")}
    )


def next_status(status: str, action: str, *, reason: str = "") -> str:
    """The status `action` moves a referral in `status` to.

    Raises ValidationError with code `illegal_transition` for a move the table
    does not hold and `reason_required` when the target needs a reason and none
    (or only blanks) was given.
    """
    if action not in ACTIONS:
        raise ValidationError(
            {"action": ValidationError(f"Unknown action {action!r}.", code="invalid")}
        )
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise _illegal(status, action)
    if target in REASON_REQUIRED and len((reason or "").strip()) < 3:
        raise ValidationError(
            {
                "reason": ValidationError(
                    f"Give the reason ({dict(S.choices)[target].lower()}).",
                    code="reason_required",
                )
            }
        )
    return target


def allowed_actions(status: str) -> list[str]:
    """The actions open from `status`, in table order."""
    return [action for (source, action) in TRANSITIONS if source == status]


def rtf_fields(status: str) -> tuple[str, str]:
    """(referral_status, referral_loop_closure_reason) for the RTF."""
    return RTF_STATUS[status], LOOP_CLOSURE.get(status, "")
