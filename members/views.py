"""Member pages: the chart, the panels this app adds to it, and their forms."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    ValidationError,
)
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from calaim import access as registry
from calaim.prepared import prepared_list
from calaim.web.panels import columns_shown, evaluate_chart_panels
from members.access import access_member
from members.forms import MemberPopulationForm, OtherProgramForm
from members.models import (
    ADULT_AGE,
    Enrollment,
    Member,
    MemberChange,
    MemberCin,
    MemberPopulation,
    OtherProgramEnrollment,
    PopulationOfFocus,
    RaceEthnicity,
)
from members.services import member_population_add, other_program_add


def _access_for_chart(user, member_uuid):
    """The member and the widest scope `user` has on them (Http404 if none).

    The whole chart first; failing that, the referral data only (a Community
    Supports provider with an open referral). Both answer 404 alike, so whether
    the member exists does not leak.
    """
    try:
        return access_member(user, member_uuid, scope=registry.CHART), registry.CHART
    except Http404:
        member = access_member(user, member_uuid, scope=registry.REFERRAL)
        return member, registry.REFERRAL


def _age(birth_date, today) -> int:
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


def _enrollments(request, member) -> list:
    """Every enrollment span of the member, newest first, read once per request:
    the chart's header (the current span) and the enrollment panel share it."""
    cache = request.__dict__.setdefault("_chart_enrollments", {})
    if member.pk not in cache:
        cache[member.pk] = prepared_list(
            "members.chart.enrollments",
            lambda member_id: (
                Enrollment.objects.filter(member_id=member_id)
                .select_related("plan", "county", "source_file")
                .only(
                    *columns_shown(
                        Enrollment,
                        "plan__name",
                        "county__name",
                        "source_file__original_name",
                    )
                )
                .order_by("-start_date", "-id")
            ),
            member.pk,
        )
    return cache[member.pk]


def _current_enrollment(spans, today):
    """The latest-starting span that covers `today` (spans are newest first)."""
    return next((span for span in spans if span.covers(today)), None)


def _render_chart(request, member, scope, *, status=200):
    request.chart_scope = scope  # read by panels that narrow what they show
    today = timezone.localdate()
    header = {"member": member, "scope": scope}
    if scope == registry.CHART:
        header["age"] = _age(member.birth_date, today)
        header["enrollment"] = _current_enrollment(_enrollments(request, member), today)
    return render(
        request,
        "members/chart.html",
        {**header, "panels": evaluate_chart_panels(request, member, scope)},
        status=status,
    )


@login_required
def member_chart(request, member_uuid):
    """The member chart: a header and the panels the apps registered.

    A referral-only viewer gets the referral panels and, in the header, name and
    CIN only: birth date and enrollment are chart data.
    """
    member, scope = _access_for_chart(request.user, member_uuid)
    return _render_chart(request, member, scope)


def _chart_url(member, panel: str) -> str:
    return f"{reverse('member_chart', args=[member.uuid])}#panel-{panel}"


def _population_form(member, data=None) -> MemberPopulationForm:
    today = timezone.localdate()
    age_group = (
        PopulationOfFocus.AgeGroup.ADULT
        if member.is_adult_on(today)
        else PopulationOfFocus.AgeGroup.CHILD
    )
    return MemberPopulationForm(
        data, populations=list(PopulationOfFocus.objects.all()), age_group=age_group
    )


def _save_from_form(request, member, form, service, *, panel, message):
    """Call `service` with the form's data; on success, back to the chart panel.

    On invalid input the chart is drawn again (400) with the form and its errors
    in place: the panel reads the bound form from the request. Works without
    JavaScript; nothing is written unless the service succeeds.
    """
    if form.is_valid():
        try:
            service(member=member, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                found = error.message_dict
            else:
                found = {NON_FIELD_ERRORS: error.messages}
            for field, field_messages in found.items():
                form.add_error(field if field in form.fields else None, field_messages)
        else:
            messages.success(request, message)
            return redirect(_chart_url(member, panel))
    setattr(request, f"{panel}_form", form)
    return _render_chart(request, member, registry.CHART, status=400)


@login_required
@require_POST
def member_population_add_view(request, member_uuid):
    """Record a population of focus from the chart (plan administrators).

    404 first for a member the user may not see, then 403 for a role without
    the permission, so a refusal never tells an outsider the member exists.
    """
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, "members.add_memberpopulation")
    return _save_from_form(
        request,
        member,
        _population_form(member, request.POST),
        member_population_add,
        panel="populations",
        message="Population of focus recorded.",
    )


@login_required
@require_POST
def member_other_program_add_view(request, member_uuid):
    """Record enrollment in a program that excludes ECM, from the chart."""
    member = access_member(request.user, member_uuid)
    registry.require_permission(request.user, "members.add_otherprogramenrollment")
    return _save_from_form(
        request,
        member,
        OtherProgramForm(request.POST),
        other_program_add,
        panel="other_programs",
        message="Program enrollment recorded.",
    )


# --- Panels (registered in MembersConfig.ready) -------------------------------------

# ISO 639-2 codes of California's Medi-Cal threshold languages, and English.
LANGUAGES = {
    "ENG": "English",
    "SPA": "Spanish",
    "VIE": "Vietnamese",
    "CHI": "Chinese",
    "ZHO": "Chinese",
    "KOR": "Korean",
    "TGL": "Tagalog",
    "ARM": "Armenian",
    "HYE": "Armenian",
    "RUS": "Russian",
    "PER": "Farsi",
    "FAS": "Farsi",
    "ARA": "Arabic",
    "KHM": "Khmer (Cambodian)",
    "HMN": "Hmong",
    "LAO": "Lao",
    "MIEN": "Mien",
    "PAN": "Punjabi",
    "JPN": "Japanese",
}


def _twenty_first_birthday(birth_date: date) -> date:
    try:
        return birth_date.replace(year=birth_date.year + ADULT_AGE)
    except ValueError:  # born on February 29: adult on March 1 (Member.age_on)
        return date(birth_date.year + ADULT_AGE, 3, 1)


def demographics_panel(request, member):
    """Chart panel: who the member is beyond the header, and adult or child today.

    No query: members.access.access_member fetched the county with the member.
    """
    today = timezone.localdate()
    language = member.preferred_language
    labels = dict(RaceEthnicity.choices)
    return {
        "county": member.county,
        "language": LANGUAGES.get(language.upper(), "") if language else "",
        "race_ethnicity": [labels.get(code, code) for code in member.race_ethnicity],
        "is_adult": member.is_adult_on(today),
        "adult_age": ADULT_AGE,
        "adult_on": _twenty_first_birthday(member.birth_date),
    }


def enrollment_panel(request, member):
    """Chart panel: every enrollment span of the member, newest first, with the
    834 file it came from, so a wrong span can be traced to its source."""
    today = timezone.localdate()
    spans = _enrollments(request, member)
    for span in spans:
        span.is_current = span.covers(today)
    return {"enrollments": spans, "today": today}


def _period_status(record, today) -> str:
    if record.start_date > today:
        return "upcoming"
    if record.end_date is not None and record.end_date < today:
        return "past"
    return "current"


_STATUS_ORDER = {"current": 0, "upcoming": 1, "past": 2}


def _by_status(records, today) -> list:
    for record in records:
        record.status = _period_status(record, today)
    # Stable: within a status, the queryset's newest-first order stays.
    return sorted(records, key=lambda record: _STATUS_ORDER[record.status])


def member_populations(request, member, *, take: bool = False) -> list:
    """Every population-of-focus record of the member, newest first, read once
    for the chart: the header (the current ones) reads them and leaves them on
    the request, the populations panel, drawn after it, takes them (`take`); a
    panel drawn on its own reads them afresh."""
    cache = request.__dict__.setdefault("_chart_populations", {})
    if take:
        found = cache.pop(member.pk, None)
        return found if found is not None else _populations_of(member)
    if member.pk not in cache:
        cache[member.pk] = _populations_of(member)
    return cache[member.pk]


def _populations_of(member) -> list:
    return prepared_list(
        "members.chart.populations",
        lambda member_id: (
            MemberPopulation.objects.filter(member_id=member_id)
            .select_related("population", "recorded_by__organization")
            .only(
                *columns_shown(
                    MemberPopulation,
                    "population__name",
                    "recorded_by__full_name",
                    "recorded_by__organization__name",
                )
            )
            .order_by("-start_date", "-id")
        ),
        member.pk,
    )


def populations_panel(request, member):
    """Chart panel: the member's populations of focus, current first, and for
    plan administrators the form to record one (one more query: the menu)."""
    today = timezone.localdate()
    records = member_populations(request, member, take=True)
    context = {"populations": _by_status(list(records), today)}
    if request.user.has_perm("members.add_memberpopulation"):
        # After a refused POST the view left the bound form, errors and all.
        form = getattr(request, "populations_form", None)
        context["population_form"] = form or _population_form(member)
        context["form_action"] = reverse("member_population_add", args=[member.uuid])
    return context


def other_programs_panel(request, member):
    """Chart panel: programs that exclude ECM (hospice, PACE, waivers, ...)."""
    today = timezone.localdate()
    records = prepared_list(
        "members.chart.other_programs",
        lambda member_id: OtherProgramEnrollment.objects.filter(
            member_id=member_id
        ).order_by("-start_date", "-id"),
        member.pk,
    )
    context = {"programs": _by_status(records, today)}
    if request.user.has_perm("members.add_otherprogramenrollment"):
        form = getattr(request, "other_programs_form", None)
        context["program_form"] = form or OtherProgramForm()
        context["form_action"] = reverse("member_other_program_add", args=[member.uuid])
    return context


def cin_history_panel(request, member):
    """Chart panel: every CIN the member has had; a prior one still finds them."""
    cins = prepared_list(
        "members.chart.cins",
        lambda member_id: MemberCin.objects.filter(member_id=member_id).order_by(
            "-is_current", "-recorded_at", "-id"
        ),
        member.pk,
    )
    return {"cins": cins}


CHANGES_SHOWN = 20


def _field_label(name: str) -> str:
    try:
        field = Member._meta.get_field(name)
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()
    return str(field.verbose_name).capitalize()


def _field_value(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    try:
        choices = dict(Member._meta.get_field(name).flatchoices)
    except (FieldDoesNotExist, AttributeError):
        choices = {}
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value)
    return str(choices.get(value, value))


def changes_panel(request, member):
    """Chart panel: the latest changes to the member's record, field by field,
    and whether an 834 file or a person made them."""
    rows = prepared_list(
        "members.chart.changes",
        lambda member_id: (
            MemberChange.objects.filter(member_id=member_id)
            .select_related("source_file", "changed_by")
            .only(
                *columns_shown(
                    MemberChange, "source_file__original_name", "changed_by__full_name"
                )
            )
            .order_by("-changed_at", "-id")[: CHANGES_SHOWN + 1]
        ),
        member.pk,
    )
    for row in rows:
        row.fields = []
        for name, values in sorted(row.changes.items()):
            before, after = (
                values
                if isinstance(values, list) and len(values) == 2
                else (None, values)
            )
            row.fields.append(
                {
                    "label": _field_label(name),
                    "before": _field_value(name, before),
                    "after": _field_value(name, after),
                }
            )
    return {
        "changes": rows[:CHANGES_SHOWN],
        "more_changes": len(rows) > CHANGES_SHOWN,
        "changes_shown": CHANGES_SHOWN,
    }


def plan_members_panel(request):
    """Home panel for plan administrators: how many members the plan has."""
    user = request.user
    today = timezone.localdate()
    current_span = (
        Q(enrollments__plan_id=user.organization_id)
        & Q(enrollments__start_date__lte=today)
        & (Q(enrollments__end_date__isnull=True) | Q(enrollments__end_date__gte=today))
    )
    counts = registry.visible_members(user).aggregate(
        ever=Count(
            "pk", filter=Q(enrollments__plan_id=user.organization_id), distinct=True
        ),
        current=Count("pk", filter=current_span, distinct=True),
    )
    return {"ever_enrolled": counts["ever"], "currently_enrolled": counts["current"]}
