"""ECM encounters: the services an enrolled member receives, coded for DHCS."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from calaim.audit.services import audit_record
from care_plans.models import Encounter, EncounterMode, Episode, EpisodeStatus
from care_plans.services.episodes import _require_provider_staff, _require_status

# DOMAIN.md §3c: ECM is G9008 or G9012 with U1, U2 or U8; GQ marks telephonic or
# video delivery. U8 is an outreach attempt and is recorded as outreach instead.
ECM_CODES = {"G9008": {"U1"}, "G9012": {"U2"}}


def ecm_code_for(mode: str, *, clinical: bool) -> tuple[str, list[str]]:
    """The code and modifiers for an encounter: clinical staff G9008-U1,
    non-clinical G9012-U2; GQ when it was not in person."""
    code, modifier = ("G9008", "U1") if clinical else ("G9012", "U2")
    modifiers = [modifier] + ([] if mode == EncounterMode.IN_PERSON else ["GQ"])
    return code, modifiers


@transaction.atomic
def encounter_record(
    *,
    episode: Episode,
    occurred_on: date,
    mode: str,
    minutes: int,
    actor,
    hcpcs_code: str | None = None,
    modifiers: list[str] | None = None,
    clinical: bool = False,
    note: str = "",
) -> Encounter:
    """Record an ECM encounter for an enrolled (or active) member."""
    _require_provider_staff(actor, episode, "care_plans.add_encounter")
    episode = Episode.objects.select_for_update().get(pk=episode.pk)
    _require_status(
        episode,
        {EpisodeStatus.ENROLLED, EpisodeStatus.ACTIVE},
        "record an encounter for",
    )
    errors = {}
    if mode not in EncounterMode.values:
        errors["mode"] = f"Unknown mode {mode!r}."
    if not 1 <= int(minutes) <= 600:
        errors["minutes"] = "Minutes must be between 1 and 600."
    if occurred_on > timezone.localdate():
        errors["occurred_on"] = "An encounter cannot be in the future."
    if episode.enrolled_on and occurred_on < episode.enrolled_on:
        errors["occurred_on"] = "The encounter is before the member enrolled."
    if hcpcs_code is None:
        hcpcs_code, modifiers = ecm_code_for(mode, clinical=clinical)
    modifiers = [m.upper() for m in (modifiers or [])]
    allowed = ECM_CODES.get(hcpcs_code.upper())
    if allowed is None or not allowed.intersection(modifiers):
        errors["hcpcs_code"] = "ECM encounters are G9008-U1 or G9012-U2 (GQ if remote)."
    elif ("GQ" in modifiers) != (mode != EncounterMode.IN_PERSON):
        errors["modifiers"] = (
            "GQ marks a telephonic or video encounter, and only those."
        )
    if errors:
        raise ValidationError(errors)
    encounter = Encounter.objects.create(
        episode=episode,
        occurred_on=occurred_on,
        mode=mode,
        minutes=minutes,
        hcpcs_code=hcpcs_code.upper(),
        modifiers=modifiers,
        staff=actor,
        note=note.strip(),
    )
    audit_record(
        action="create",
        object_type="ecm_encounter",
        object_id=str(encounter.uuid),
        member_ids=[episode.member_id],
        actor=actor,
    )
    return encounter


def encounter_counts(episode: Episode, start: date, end: date) -> dict[str, int]:
    """In-person and telephonic/video encounters in a period (the RTF counts)."""
    return Encounter.objects.filter(
        episode=episode, occurred_on__gte=start, occurred_on__lte=end
    ).aggregate(
        in_person=Count("pk", filter=Q(mode=EncounterMode.IN_PERSON)),
        telephonic_video=Count("pk", filter=~Q(mode=EncounterMode.IN_PERSON)),
    )
