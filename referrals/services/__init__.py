"""Every write to a referral (see the modules for the rules)."""

from referrals.services._common import (
    ACKNOWLEDGEMENT_TASK,
    AUTHORIZATION_TASK,
    DELIVERY_TASK,
    TASK_KINDS,
)
from referrals.services.authorization import (
    limit_findings,
    referral_authorization_resume,
    referral_authorize,
)
from referrals.services.clocks import clocks_sweep
from referrals.services.referrals import (
    delivery_record,
    enrollment_on,
    offer_accept,
    offer_expire,
    offer_reject,
    referral_cancel,
    referral_complete,
    referral_create,
    referral_fail,
    referral_hold,
    referral_resume,
    referral_submit,
    send_action_links,
)

__all__ = [
    "ACKNOWLEDGEMENT_TASK",
    "AUTHORIZATION_TASK",
    "DELIVERY_TASK",
    "TASK_KINDS",
    "clocks_sweep",
    "delivery_record",
    "enrollment_on",
    "limit_findings",
    "offer_accept",
    "offer_expire",
    "offer_reject",
    "referral_authorization_resume",
    "referral_authorize",
    "referral_cancel",
    "referral_complete",
    "referral_create",
    "referral_fail",
    "referral_hold",
    "referral_resume",
    "referral_submit",
    "send_action_links",
]
