"""The 834 upload pages for plan administrators: upload, watch, read the outcome.

The import itself is members.services.enrollment_import; these pages receive the
file, hand it to the worker, and show how it went. Every file is fetched through
members.imports_access, so a file of another plan answers 404.
"""

import csv

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET, require_http_methods

from calaim import access as registry
from calaim.audit.services import audit_record
from members.imports_access import (
    ADD_PERMISSION,
    access_enrollment_file,
    earlier_copy,
    enrollment_files_for,
    issue_cins,
    member_ids_for_cins,
)
from members.models import EnrollmentFile, EnrollmentFileIssue
from members.services.enrollment_import import enrollment_file_receive

PAGE_SIZE = 25
ISSUES_SHOWN = 100
RUNNING = (EnrollmentFile.Status.RECEIVED, EnrollmentFile.Status.IMPORTING)
FILE_KINDS = {"2": "Change (update)", "4": "Verify (audit roster)", "RX": "Replace"}
# A byte-order mark and line breaks may come before the ISA; the reader skips them.
LEADING_NOISE = b"\xef\xbb\xbf\r\n\t "


def max_upload_bytes() -> int:
    return getattr(settings, "IMPORT_834_MAX_BYTES", 200 * 1024 * 1024)


class EnrollmentUploadForm(forms.Form):
    file = forms.FileField(
        label="834 file",
        help_text="An X12 834 benefit enrollment file from DHCS for your plan.",
        error_messages={
            "required": "Choose an 834 file to upload.",
            "empty": "The file is empty. Choose the 834 file DHCS sent.",
        },
    )

    def clean_file(self):
        """Refuse what is plainly not an 834 before it is stored: the size cap, and
        the ISA segment every X12 interchange starts with. The envelope and records
        are checked by the import itself."""
        upload = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is "
                f"{filesizeformat(limit)}."
            )
        upload.seek(0)
        head = upload.read(512).lstrip(LEADING_NOISE)
        upload.seek(0)
        if not head.startswith(b"ISA"):
            raise forms.ValidationError(
                "This is not an X12 file: an 834 starts with an ISA segment."
            )
        return upload


@login_required
@require_http_methods(["GET", "POST"])
def enrollment_files(request):
    """The plan's files, newest first, and the upload form."""
    files = enrollment_files_for(request.user)  # 403 without the permission
    status = 200
    if request.method == "POST":
        registry.require_permission(request.user, ADD_PERMISSION)
        form = EnrollmentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            received = enrollment_file_receive(
                plan=request.user.organization,
                source=upload,
                original_name=upload.name,
                actor=request.user,
                queue=True,
            )
            return redirect("enrollment_file_detail", file_uuid=received.uuid)
        status = 400
    else:
        form = EnrollmentUploadForm()
    before = _int_or_none(request.GET.get("before"))
    if before is not None:
        files = files.filter(id__lt=before)
    page = list(files[: PAGE_SIZE + 1])
    next_before = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return render(
        request,
        "members/imports/list.html",
        {
            "files": page[:PAGE_SIZE],
            "form": form,
            "next_before": next_before,
            "is_first_page": before is None,
            "can_upload": request.user.has_perm(ADD_PERMISSION),
            "max_bytes": max_upload_bytes(),
        },
        status=status,
    )


@login_required
@require_GET
def enrollment_file_detail(request, file_uuid):
    """One file: live progress while it imports, then its outcome and first issues.

    The issues name CINs, so the page is a view of those members in the audit
    trail.
    """
    enrollment_file = access_enrollment_file(request.user, file_uuid)
    issues, issue_counts = [], {"total": 0, "repeated": 0}
    if enrollment_file.status not in RUNNING:
        issue_counts = _issue_counts(enrollment_file)
        issues = list(enrollment_file.issues.all()[:ISSUES_SHOWN])
        member_ids = member_ids_for_cins([issue.cin for issue in issues if issue.cin])
        audit_record(
            action="view",
            object_type="enrollment_file",
            object_id=str(enrollment_file.uuid),
            member_ids=member_ids,
            actor=request.user,
        )
    return render(
        request,
        "members/imports/detail.html",
        {
            **_status_context(enrollment_file, issue_counts),
            "earlier": earlier_copy(enrollment_file),
            "file_kind": FILE_KINDS.get(enrollment_file.file_kind, ""),
            "issues": issues,
            "issues_shown": ISSUES_SHOWN,
        },
    )


@login_required
@require_GET
def enrollment_file_progress(request, file_uuid):
    """The progress bar (htmx partial), polled while the file imports.

    Counts only, no member data: the browser polls it in the background. When the
    import has finished it answers with the summary and without the polling
    trigger, so the polling stops.
    """
    enrollment_file = access_enrollment_file(request.user, file_uuid)
    issue_counts = {"total": 0, "repeated": 0}
    if enrollment_file.status not in RUNNING:
        issue_counts = _issue_counts(enrollment_file)
    return render(
        request,
        "members/imports/_status.html",
        {**_status_context(enrollment_file, issue_counts), "polled": True},
    )


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer."""

    def write(self, value):
        return value


@login_required
@require_GET
def enrollment_file_issues_csv(request, file_uuid):
    """Every issue of the file as CSV, streamed: the plan works the rejects from it.

    An export of PHI (CINs): recorded as an export of the members it names,
    resolved in one query before the first byte goes out.
    """
    enrollment_file = access_enrollment_file(request.user, file_uuid)
    audit_record(
        action="export",
        object_type="enrollment_file_issues",
        object_id=str(enrollment_file.uuid),
        member_ids=member_ids_for_cins(issue_cins(enrollment_file)),
        actor=request.user,
    )
    rows = (
        EnrollmentFileIssue.objects.filter(file=enrollment_file)
        .order_by("segment_number", "id")
        .values_list("kind", "segment_number", "segment", "cin", "reason")
        .iterator(chunk_size=2000)
    )
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(["kind", "segment_number", "segment", "cin", "reason"])
        for kind, number, segment, cin, reason in rows:
            yield writer.writerow(
                [kind, "" if number is None else number, segment, cin, reason]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="834-issues-{enrollment_file.uuid}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


# --- Helpers ------------------------------------------------------------------------


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _duration_text(duration) -> str:
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _issue_counts(enrollment_file) -> dict:
    return EnrollmentFileIssue.objects.filter(file=enrollment_file).aggregate(
        total=Count("id"),
        repeated=Count("id", filter=Q(kind=EnrollmentFileIssue.Kind.DUPLICATE)),
    )


def _status_context(enrollment_file, issue_counts) -> dict:
    """What the status block (progress bar or summary) shows."""
    running = enrollment_file.status in RUNNING
    total, done = enrollment_file.records_total, enrollment_file.records_done
    percent = min(100, done * 100 // total) if total else 0
    duration = None
    if enrollment_file.started_at and enrollment_file.finished_at:
        duration = enrollment_file.finished_at - enrollment_file.started_at
    return {
        "file": enrollment_file,
        "running": running,
        "percent": percent,
        "duration": _duration_text(duration) if duration is not None else "",
        "issue_counts": issue_counts,
    }
