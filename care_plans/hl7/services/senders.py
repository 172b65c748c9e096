"""The sender registry: which hospital facilities a plan receives ADT from."""

from django.core.exceptions import ValidationError
from django.db import transaction

from calaim.audit.models import AuditAction
from calaim.audit.services import audit_record
from care_plans.hl7.models import HL7Sender


def _check(*, plan, organization, sending_facility, sender=None) -> None:
    if not plan.is_plan:
        raise ValidationError("Only a plan registers senders.", code="not_a_plan")
    if not organization.is_hospital:
        raise ValidationError(
            {"organization": "The sender must be a hospital."}, code="not_a_hospital"
        )
    taken = HL7Sender.objects.filter(sending_facility=sending_facility)
    if sender is not None:
        taken = taken.exclude(pk=sender.pk)
    if taken.exists():
        raise ValidationError(
            {"sending_facility": "This sending facility is already registered."},
            code="duplicate_facility",
        )


@transaction.atomic
def sender_register(
    *,
    plan,
    organization,
    sending_facility: str,
    allowed_addresses: list[str],
    cin_assigning_authorities: list[str],
    active: bool = True,
    actor,
) -> HL7Sender:
    """Register a hospital's sending facility for `plan`'s feed.

    MSH-4 is how a message names its sender, so a facility id is registered once
    platform-wide; a second plan receiving the same hospital agrees a facility id
    of its own with it.
    """
    _check(plan=plan, organization=organization, sending_facility=sending_facility)
    sender = HL7Sender.objects.create(
        plan=plan,
        organization=organization,
        sending_facility=sending_facility,
        allowed_addresses=list(allowed_addresses),
        cin_assigning_authorities=list(cin_assigning_authorities),
        active=active,
    )
    audit_record(
        action=AuditAction.CREATE,
        object_type="hl7_sender",
        object_id=str(sender.uuid),
        actor=actor,
    )
    return sender


@transaction.atomic
def sender_update(
    *,
    sender: HL7Sender,
    organization,
    sending_facility: str,
    allowed_addresses: list[str],
    cin_assigning_authorities: list[str],
    active: bool,
    actor,
) -> HL7Sender:
    """Change a sender; a running MLLP listener picks it up within seconds."""
    _check(
        plan=sender.plan,
        organization=organization,
        sending_facility=sending_facility,
        sender=sender,
    )
    sender.organization = organization
    sender.sending_facility = sending_facility
    sender.allowed_addresses = list(allowed_addresses)
    sender.cin_assigning_authorities = list(cin_assigning_authorities)
    sender.active = active
    sender.save()
    audit_record(
        action=AuditAction.UPDATE,
        object_type="hl7_sender",
        object_id=str(sender.uuid),
        actor=actor,
    )
    return sender
