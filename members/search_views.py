"""Find a member: the search page, for everyone who may look members up."""

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from calaim.audit.services import audit_record
from members.forms import MemberSearchForm
from members.models import Enrollment
from members.selectors import member_search

RESULTS_LIMIT = 50


def _attach_current_plans(members) -> None:
    """Each member's current enrollment spans, in one query (the selector has
    joined the county already; prefetching it again costs nothing)."""
    today = timezone.localdate()
    current = (
        Enrollment.objects.filter(start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("plan")
        .order_by("-start_date", "-id")
    )
    prefetch_related_objects(
        members,
        "county",
        Prefetch("enrollments", queryset=current, to_attr="current_enrollments"),
    )


@login_required
@permission_required("members.view_member", raise_exception=True)
@require_GET
def member_search_page(request):
    """Search by CIN (current or prior), BIC ID or name, and birth date.

    Only members the user may see are found (plan administrators their plans',
    care managers their caseload). A search that shows members is audited as a
    view of them; the search text is not recorded, as it may be a name or CIN.
    An htmx request gets the results alone; without JavaScript the whole page.
    """
    form = MemberSearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid() and form.has_criteria():
        results = member_search(
            request.user,
            query=form.cleaned_data["q"],
            birth_date=form.cleaned_data["birth_date"],
            limit=RESULTS_LIMIT,
        )
        _attach_current_plans(results)
        if results:
            audit_record(
                action="view",
                object_type="member_search",
                member_ids=[member.pk for member in results],
                actor=request.user,
            )
    context = {"form": form, "results": results, "limit": RESULTS_LIMIT}
    partial = request.htmx and not request.htmx.history_restore_request
    template = "members/search_results.html" if partial else "members/search.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
