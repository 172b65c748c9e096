"""Notices: generated, printable documents kept on the chart and marked sent."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from calaim.audit.services import audit_record
from care_plans.models import Episode, Notice

TEMPLATES = {
    Notice.Kind.ASSIGNMENT: "care_plans/notices/assignment.html",
    Notice.Kind.DENIAL: "care_plans/notices/denial.html",
    Notice.Kind.DISCONTINUATION: "care_plans/notices/discontinuation.html",
    Notice.Kind.REFERRER_DECISION: "care_plans/notices/referrer_decision.html",
}


def notice_create(*, episode: Episode, kind: str, actor) -> Notice | None:
    """Render and keep a notice. The referrer is told only when someone other
    than the plan referred (plan data has no referrer to tell)."""
    if kind == Notice.Kind.REFERRER_DECISION:
        if episode.source == Episode.Source.PLAN_DATA or not (
            episode.referred_by_organization_id or episode.referrer_contact
        ):
            return None
        recipient = (
            episode.referrer_contact
            or getattr(episode.referred_by_organization, "name", "")
            or "The referrer"
        )
    else:
        member = episode.member
        recipient = f"{member.first_name} {member.last_name}"
    html = render_to_string(
        TEMPLATES[kind],
        {
            "episode": episode,
            "member": episode.member,
            "plan": episode.plan,
            "provider": episode.ecm_provider,
            "lead": episode.lead_care_manager,
            "today": timezone.localdate(),
        },
    )
    notice = Notice.objects.create(
        episode=episode,
        kind=kind,
        recipient=recipient[:200],
        html=html,
        created_by=actor,
    )
    audit_record(
        action="create",
        object_type="ecm_notice",
        object_id=str(notice.uuid),
        member_ids=[episode.member_id],
        actor=actor,
    )
    return notice


@transaction.atomic
def notice_mark_sent(*, notice: Notice, method: str, actor) -> Notice:
    """Record that a notice went out (mail, e-mail, in person, portal), once."""
    if method not in {"mail", "email", "in_person", "portal"}:
        raise ValidationError({"method": "Sent by mail, e-mail, in person or portal."})
    locked = Notice.objects.select_for_update().get(pk=notice.pk)
    if locked.sent_at is not None:
        raise ValidationError({"notice": "This notice was already recorded as sent."})
    locked.sent_at = timezone.now()
    locked.sent_method = method
    locked.save(update_fields=["sent_at", "sent_method"])
    audit_record(
        action="update",
        object_type="ecm_notice",
        object_id=str(locked.uuid),
        member_ids=[locked.episode.member_id],
        actor=actor,
    )
    return locked
