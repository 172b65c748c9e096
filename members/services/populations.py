"""Populations of focus and programs that exclude ECM, recorded per member."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from calaim import access as registry
from calaim.audit.services import audit_record
from members.models import (
    ADULT_AGE,
    Member,
    MemberPopulation,
    OtherProgram,
    OtherProgramEnrollment,
    PopulationOfFocus,
)


def _check(actor, member, permission):
    registry.require_permission(actor, permission)
    if not registry.member_is_visible(actor, member.pk):
        raise PermissionDenied("You can only record this for members you can see.")


@transaction.atomic
def member_population_add(
    *,
    member: Member,
    population: PopulationOfFocus,
    source: str,
    start_date: date,
    end_date: date | None = None,
    evidence: str = "",
    actor,
) -> MemberPopulation:
    """Record that a member belongs to a population of focus, from a source.

    The population must be live on the start date and fit the member's age then:
    adult populations from the 21st birthday, child and youth ones before it.
    """
    _check(actor, member, "members.add_memberpopulation")
    errors = {}
    if source not in MemberPopulation.Source.values:
        errors["source"] = f"Unknown source {source!r}."
    if end_date is not None and end_date < start_date:
        errors["end_date"] = "The end date is before the start date."
    if start_date < population.go_live_date:
        errors["start_date"] = (
            f"{population.name} went live on {population.go_live_date:%B %-d, %Y}."
        )
    if population.retired_on and start_date >= population.retired_on:
        errors["population"] = f"{population.name} was retired."
    adult = member.is_adult_on(start_date)
    if population.age_group == PopulationOfFocus.AgeGroup.ADULT and not adult:
        errors["population"] = (
            f"The member was under {ADULT_AGE} on {start_date}: choose the child "
            "or youth population."
        )
    if population.age_group == PopulationOfFocus.AgeGroup.CHILD and adult:
        errors["population"] = (
            f"The member was {ADULT_AGE} or older on {start_date}: choose the adult "
            "population."
        )
    if errors:
        raise ValidationError(errors)
    record = MemberPopulation.objects.create(
        member=member,
        population=population,
        source=source,
        start_date=start_date,
        end_date=end_date,
        evidence=evidence.strip(),
        recorded_by=actor,
    )
    audit_record(
        action="create",
        object_type="member_population",
        object_id=str(record.pk),
        member_ids=[member.pk],
        actor=actor,
    )
    return record


@transaction.atomic
def other_program_add(
    *,
    member: Member,
    program: str,
    start_date: date,
    end_date: date | None = None,
    source: str = "",
    actor,
) -> OtherProgramEnrollment:
    """Record enrollment in a program that excludes ECM (hospice, PACE, ...)."""
    _check(actor, member, "members.add_otherprogramenrollment")
    if program not in OtherProgram.values:
        raise ValidationError({"program": f"Unknown program {program!r}."})
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": "The end date is before the start date."})
    record = OtherProgramEnrollment.objects.create(
        member=member,
        program=program,
        start_date=start_date,
        end_date=end_date,
        source=source,
    )
    audit_record(
        action="create",
        object_type="other_program",
        object_id=str(record.pk),
        member_ids=[member.pk],
        actor=actor,
    )
    return record


def ecm_exclusions_on(member: Member, day: date) -> list[OtherProgramEnrollment]:
    """The programs that keep the member out of ECM on `day` (for the ECM issue)."""
    return [
        program
        for program in member.other_programs.all()
        if program.start_date <= day
        and (program.end_date is None or day <= program.end_date)
    ]
