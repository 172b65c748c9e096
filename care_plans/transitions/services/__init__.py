"""Transitions of care: from a stored ADT message to an event, alerts and due work.

`transition_process` is the ADT processor (registered in processor.py). It runs
inside the intake's transaction with the message row locked, so everything it
writes commits together with the message's new status, or not at all, and a
message processed twice finds its event (TransitionEvent.message is unique) and
changes nothing. Notifications go through the outbox with a key per message and
recipient, so a redelivery cannot send a second one.

Who hears of an event (DESIGN.md §4.3, DOMAIN.md §5a, §10b):
- a member with an open ECM episode and a lead care manager: that care manager
  (an Alert and a notification), and for an inpatient admission the supervisors
  of the episode's ECM provider; a discharge opens the follow-up Task (7 days,
  2 business days when high-risk) and requests a care plan review;
- any other member: the plan's transitional-care queue (the plan of the member's
  enrollment on the event date), where a discharge opens the follow-up Task in
  the plan's queue;
- ED visits and unplanned admissions count against the avoidable-utilization
  thresholds; crossing one puts an "identify for ECM?" Task in the plan's queue.
Cancels (A11, A12, A13) void the latest event they cancel and what it opened.
"""

from care_plans.transitions.services.alerts import (  # noqa: F401
    alert_acknowledge,
    alert_may_acknowledge,
    alerts_escalate,
)
from care_plans.transitions.services.effects import utilization_counts  # noqa: F401
from care_plans.transitions.services.processing import (  # noqa: F401
    transition_process,
    transition_record,
)
from care_plans.transitions.services.rules import (  # noqa: F401
    CANCELS,
    CARE_PLAN_REVIEW_TASK,
    FOLLOW_UP_TASK,
    IDENTIFICATION_TASK,
    adt_actor,
    follow_up_due,
    is_high_risk,
    plan_on,
    settings_for,
)
from care_plans.transitions.services.unmatched import (  # noqa: F401
    unmatched_dismiss,
    unmatched_link,
)
