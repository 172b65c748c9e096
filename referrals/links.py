"""The signed action links for providers without an account or a system:
accept, reject with a reason, complete. Each feeds the same services as the
inbox and the API, acting as the provider's named system account; the links
module (calaim.links) makes each usable once, expiring, and audited."""

from django import forms


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Why do you decline this referral?",
        min_length=3,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _offer(object_id):
    from referrals.models import Offer

    offer = (
        Offer.objects.select_related("referral", "provider")
        .filter(uuid=object_id)
        .first()
    )
    if offer is None:
        from django.core.exceptions import ValidationError

        raise ValidationError("This referral offer no longer exists.", code="not_found")
    return offer


def _actor(offer):
    from calaim.accounts.services import system_account

    return system_account(organization=offer.provider, name="Referral action links")


def accept(*, object_id, data, link):
    from referrals.services import offer_accept

    offer = _offer(object_id)
    offer_accept(offer=offer, actor=_actor(offer), **_as_provider())
    return "Thank you: the referral is accepted. The referrer has been told."


def reject(*, object_id, data, link):
    from referrals.services import offer_reject

    offer = _offer(object_id)
    offer_reject(
        offer=offer, reason=data["reason"], actor=_actor(offer), **_as_provider()
    )
    return "Thank you: the referral is declined and goes to the next provider."


def complete(*, object_id, data, link):
    from referrals.services import referral_complete

    offer = _offer(object_id)
    referral_complete(referral=offer.referral, actor=_actor(offer), **_as_provider())
    return "Thank you: the referral is completed (services received)."


def _as_provider() -> dict:
    # The signed link stands in for the provider's sign-in and role.
    return {"via_link": True}


def summary(object_id) -> str:
    """What the confirmation page says the link is about: no PHI."""
    from referrals.models import Offer

    offer = (
        Offer.objects.select_related("referral__support").filter(uuid=object_id).first()
    )
    if offer is None or offer.referral.support is None:
        return "A Community Supports referral."
    return f"A referral for {offer.referral.support.name}."


def register() -> None:
    from calaim.links import register_link_action

    register_link_action(
        "referral.accept", handler=accept, label="Accept a referral", summary=summary
    )
    register_link_action(
        "referral.reject",
        handler=reject,
        form=RejectForm,
        label="Decline a referral",
        summary=summary,
    )
    register_link_action(
        "referral.complete",
        handler=complete,
        label="Mark a referral's services completed",
        summary=summary,
    )
