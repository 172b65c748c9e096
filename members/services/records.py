"""Member records: creation, CIN history and merging duplicates."""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from calaim import access as registry
from calaim.audit.services import audit_record
from calaim.validators import normalize_cin, validate_cin
from members.models import (
    Member,
    MemberChange,
    MemberCin,
    MemberGrant,
    MemberPlanSnapshot,
)

# Called with (member_ids, plan, end_date, source_file) when enrollments terminate;
# upper layers register here (the ECM issue ends the open episode). See DESIGN.md §2.
termination_hooks: list[Callable] = []


def member_by_cin(cin: str) -> Member | None:
    """The member a CIN (or a BIC ID, or a prior CIN) belongs to, or None."""
    cin = normalize_cin(cin)
    row = MemberCin.objects.filter(cin=cin).select_related("member").first()
    return row.member if row else None


@transaction.atomic
def member_create(*, cin: str, actor=None, source: str = "", **fields) -> Member:
    """Create a member with its current CIN recorded in the CIN history."""
    cin = normalize_cin(cin)
    validate_cin(cin)
    if MemberCin.objects.filter(cin=cin).exists():
        raise ValidationError({"cin": f"A member with CIN {cin} already exists."})
    member = Member(cin=cin, **fields)
    member.full_clean(exclude=["cin"])
    member.save()
    MemberCin.objects.create(cin=cin, member=member, is_current=True, source=source)
    if actor is not None:
        audit_record(
            action="create",
            object_type="member",
            object_id=str(member.uuid),
            member_ids=[member.pk],
            actor=actor,
        )
    return member


@transaction.atomic
def member_merge(*, survivor: Member, duplicate: Member, actor) -> Member:
    """Merge a duplicate record into the survivor; everything attached to either
    stays attached to the survivor, and the duplicate's CINs keep resolving.

    Refused, with nothing changed, when the two records conflict in a way a person
    must settle first (two open ECM episodes, overlapping enrollment spans).
    """
    registry.require_permission(actor, "members.change_member")
    for member in (survivor, duplicate):
        if not registry.member_is_visible(actor, member.pk):
            raise PermissionDenied("You can only merge members you can see.")
    if survivor.pk == duplicate.pk:
        raise ValidationError("A member cannot be merged into itself.")
    if duplicate.merged_into_id or survivor.merged_into_id:
        raise ValidationError("One of these records was already merged.")

    # Rows unique per member: keep the survivor's (snapshots) or the longer grant.
    survivor_plans = MemberPlanSnapshot.objects.filter(member=survivor).values("plan")
    MemberPlanSnapshot.objects.filter(
        member=duplicate, plan__in=survivor_plans
    ).delete()
    for grant in MemberGrant.objects.filter(content_object=duplicate):
        kept = MemberGrant.objects.filter(
            content_object=survivor,
            user_id=grant.user_id,
            permission_id=grant.permission_id,
        ).first()
        if kept is None:
            continue
        if grant.expires_at > kept.expires_at:
            kept.expires_at = grant.expires_at
            kept.save(update_fields=["expires_at"])
        grant.delete()

    # The duplicate's CINs become prior CINs of the survivor.
    MemberCin.objects.filter(member=duplicate).update(is_current=False)
    moved = {}
    for relation in Member._meta.related_objects:
        if not relation.one_to_many or relation.related_model is Member:
            continue
        model, field = relation.related_model, relation.field.name
        try:
            with transaction.atomic():
                count = model.objects.filter(**{field: duplicate}).update(
                    **{field: survivor}
                )
        except IntegrityError as conflict:
            raise ValidationError(
                f"Cannot merge: their {model._meta.verbose_name_plural} conflict "
                "(for example two open ECM episodes or overlapping enrollment "
                "spans). Resolve that first."
            ) from conflict
        if count:
            moved[model._meta.label_lower] = count

    filled = {}
    for field in ("middle_name", "phone", "address_line1", "address_line2", "city",
                  "state", "zip_code", "preferred_language"):  # fmt: skip
        if not getattr(survivor, field) and getattr(duplicate, field):
            filled[field] = ["", getattr(duplicate, field)]
            setattr(survivor, field, getattr(duplicate, field))
    if filled:
        survivor.save(update_fields=list(filled))
    duplicate.merged_into = survivor
    duplicate.save(update_fields=["merged_into"])
    MemberChange.objects.create(
        member=survivor,
        changed_by=actor,
        changes={**filled, "merged_from": [str(duplicate.uuid), moved]},
    )
    audit_record(
        action="update",
        object_type="member_merge",
        object_id=str(survivor.uuid),
        member_ids=[survivor.pk, duplicate.pk],
        actor=actor,
        reason=f"merged {duplicate.uuid} into {survivor.uuid}",
    )
    return survivor
