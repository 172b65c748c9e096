"""The 834 upload pages in the permission matrix (see tests/matrix.py).

An enrollment file is the plan's roster, PHI end to end: only the plan's own
administrators see its files. The plan's auditor reads the audit trail, not the
files, and gets 403 on the list like any other role without
`members.view_enrollmentfile`; for one file everyone but the plan's
administrators gets 404, so whether a file exists does not leak.
"""

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from members.x12 import synthetic
from tests.cast import PEOPLE
from tests.matrix import register

PLAN_ADMINS = {"plan_admin", "other_plan_admin"}


def tiny_834() -> bytes:
    """A synthetic two-member 834 (no real person)."""
    buffer = io.BytesIO()
    synthetic.write_834(buffer, 2, seed=834, interchange_control=834)
    return buffer.getvalue()


def cast_enrollment_file(cast):
    """A received file of the cast's plan, stored through the service once per cast
    (not queued: the matrix checks access, not the import)."""
    enrollment_file = cast.__dict__.get("enrollment_file")
    if enrollment_file is None:
        from members.services.enrollment_import import enrollment_file_receive

        enrollment_file = enrollment_file_receive(
            plan=cast.plan,
            source=io.BytesIO(tiny_834()),
            original_name="cast-834.x12",
            actor=cast.plan_admin,
            queue=False,
        )
        cast.__dict__["enrollment_file"] = enrollment_file
    return enrollment_file


def _file_url(name):
    return lambda cast: reverse(name, args=[cast_enrollment_file(cast).uuid])


# Each plan administrator sees the list of their own plan's files; other roles
# lack the permission.
register(
    "enrollment_files",
    "GET",
    lambda cast: reverse("enrollment_files"),
    allowed=PLAN_ADMINS,
    forbidden=set(PEOPLE) - PLAN_ADMINS,
)
# The upload: a plan administrator's file goes to their own plan (302 to its
# page); everyone else is refused before anything is stored.
register(
    "enrollment_file_upload",
    "POST",
    lambda cast: reverse("enrollment_files"),
    data=lambda cast: {
        "file": SimpleUploadedFile(
            "matrix-834.x12", tiny_834(), content_type="application/edi-x12"
        )
    },
    allowed=PLAN_ADMINS,
    forbidden=set(PEOPLE) - PLAN_ADMINS,
    ok_status=(302,),
)
for _name in (
    "enrollment_file_detail",
    "enrollment_file_progress",
    "enrollment_file_issues_csv",
):
    register(_name, "GET", _file_url(_name), allowed={"plan_admin"})
register(
    "enrollment_file_detail_missing",
    "GET",
    lambda cast: reverse("enrollment_file_detail", args=[uuid.UUID(int=834)]),
    allowed=set(),
)
