"""Enrollment files (834 uploads) for a user: the chokepoint and the scoped reads.

An 834 file is the whole roster of one plan, PHI from end to end: only that
plan's people whose role holds `members.view_enrollmentfile` (plan
administrators) see it. Kept apart from members/access.py, which decides who
sees a *member*; a file is not a member, and being allowed to see some members
of a plan does not open its files.
"""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from calaim import access as registry
from members.models import EnrollmentFile, EnrollmentFileIssue, MemberCin

VIEW_PERMISSION = "members.view_enrollmentfile"
ADD_PERMISSION = "members.add_enrollmentfile"


def enrollment_files_for(user) -> QuerySet:
    """The files of the user's own plan, newest first, with the uploader joined.

    Raises PermissionDenied (403) when the role does not hold the permission: the
    list is a page of the role, not of one record.
    """
    registry.require_permission(user, VIEW_PERMISSION)
    if user.organization_id is None:
        return EnrollmentFile.objects.none()
    return (
        EnrollmentFile.objects.filter(plan_id=user.organization_id)
        .select_related("uploaded_by")
        .order_by("-id")
    )


def access_enrollment_file(user, file_uuid) -> EnrollmentFile:
    """Fetch one file for `user`, or raise Http404 whether missing or not allowed.

    The same answer for a file of another plan, a role without the permission and
    a file that does not exist, so whether a file exists does not leak.
    """
    if not (user.is_authenticated and user.has_perm(VIEW_PERMISSION)):
        raise Http404("No such file.")
    try:
        return EnrollmentFile.objects.select_related("uploaded_by").get(
            uuid=file_uuid, plan_id=user.organization_id
        )
    except (EnrollmentFile.DoesNotExist, ValidationError, ValueError) as missing:
        raise Http404("No such file.") from missing


def earlier_copy(enrollment_file: EnrollmentFile) -> EnrollmentFile | None:
    """The most recent earlier upload of the same bytes to the same plan.

    Only the same plan: a match in another plan's files would tell one plan what
    another received.
    """
    return (
        EnrollmentFile.objects.filter(
            plan_id=enrollment_file.plan_id,
            sha256=enrollment_file.sha256,
            id__lt=enrollment_file.pk,
        )
        .order_by("-id")
        .first()
    )


def member_ids_for_cins(cins) -> list[int]:
    """The members behind these CINs (current or earlier ones), in one query.

    `cins` may be a list or a values() subquery; the audit trail records who an
    issue listing touched by member id, never by CIN.
    """
    return sorted(
        set(MemberCin.objects.filter(cin__in=cins).values_list("member_id", flat=True))
    )


def issue_cins(enrollment_file: EnrollmentFile) -> QuerySet:
    """The CINs an issue of the file names, as a subquery."""
    return (
        EnrollmentFileIssue.objects.filter(file=enrollment_file)
        .exclude(cin="")
        .values("cin")
    )
