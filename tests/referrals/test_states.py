"""The referral state machine, as a table (DOMAIN.md §10c)."""

import pytest
from django.core.exceptions import ValidationError

from referrals import states

S = states.Status

EXPECTED = {
    (S.DRAFT, "request"): S.REQUESTED,
    (S.DRAFT, "deny"): S.REJECTED,
    (S.REQUESTED, "offer"): S.RECEIVED,
    (S.REQUESTED, "deny"): S.REJECTED,
    (S.REQUESTED, "exhaust"): S.REJECTED,
    (S.RECEIVED, "accept"): S.ACCEPTED,
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
    **{(status, "cancel"): S.CANCELLED for status in states.OPEN},
}
ALL_PAIRS = [
    (status, action) for status in S.values for action in sorted(states.ACTIONS)
]


def test_the_table_is_exactly_the_canonical_one():
    assert states.TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS)
def test_every_move_is_either_in_the_table_or_refused(status, action):
    target = EXPECTED.get((status, action))
    if target is None:
        with pytest.raises(ValidationError) as refused:
            states.next_status(status, action, reason="a good reason")
        assert refused.value.error_dict["status"][0].code == "illegal_transition"
    else:
        assert states.next_status(status, action, reason="a good reason") == target


@pytest.mark.parametrize(
    ("status", "action"),
    [key for key, target in EXPECTED.items() if target in states.REASON_REQUIRED],
)
@pytest.mark.parametrize("reason", ["", "   ", "no"])
def test_rejected_on_hold_failed_and_cancelled_need_a_reason(status, action, reason):
    with pytest.raises(ValidationError) as refused:
        states.next_status(status, action, reason=reason)
    assert refused.value.error_dict["reason"][0].code == "reason_required"


def test_closed_states_allow_nothing():
    for status in states.CLOSED:
        assert states.allowed_actions(status) == []


def test_an_unknown_action_is_refused():
    with pytest.raises(ValidationError) as refused:
        states.next_status(S.DRAFT, "teleport")
    assert refused.value.error_dict["action"][0].code == "invalid"


@pytest.mark.parametrize(
    ("status", "rtf"),
    [
        (S.COMPLETED, ("Loop Closed", "Services Received")),
        (S.IN_PROGRESS, ("Services In Progress", "")),
        (S.CANCELLED, ("Loop Closed", "Referral Cancelled")),
    ],
)
def test_rtf_projection(status, rtf):
    assert states.rtf_fields(status) == rtf
