"""Member pages: the chart, and the panels this app adds to the shell."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from calaim import access as registry
from calaim.web.panels import evaluate_chart_panels
from members.access import access_member


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


def _current_enrollment(member, today):
    return (
        member.enrollments.filter(start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("plan", "county")
        .order_by("-start_date")
        .first()
    )


@login_required
def member_chart(request, member_uuid):
    """The member chart: a header and the panels the apps registered.

    A referral-only viewer gets the referral panels and, in the header, name and
    CIN only: birth date and enrollment are chart data.
    """
    member, scope = _access_for_chart(request.user, member_uuid)
    request.chart_scope = scope  # read by panels that narrow what they show
    today = timezone.localdate()
    header = {"member": member, "scope": scope}
    if scope == registry.CHART:
        header["age"] = _age(member.birth_date, today)
        header["enrollment"] = _current_enrollment(member, today)
    return render(
        request,
        "members/chart.html",
        {**header, "panels": evaluate_chart_panels(request, member, scope)},
    )


# --- Panels (registered in MembersConfig.ready) -------------------------------------


def enrollment_panel(request, member):
    """Chart panel: every enrollment span of the member, newest first."""
    spans = member.enrollments.select_related("plan", "county").order_by(
        "-start_date", "-id"
    )
    return {"enrollments": list(spans), "today": timezone.localdate()}


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
