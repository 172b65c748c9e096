"""python manage.py import_834 FILE --plan CODE: import a DHCS 834 enrollment file."""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from calaim.accounts.models import Organization, PlanCode
from calaim.accounts.services import system_account
from members.models import EnrollmentFile
from members.services.enrollment_import import (
    enrollment_file_import,
    enrollment_file_receive,
)


class Command(BaseCommand):
    help = (
        "Import an X12 834 enrollment file for a plan. Exits non-zero when the file "
        "is rejected whole; bad records are rejected alone and listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--plan",
            required=True,
            help="the plan's DHCS plan code (e.g. 170) or its organization UUID",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, plan: str, no_progress: bool, **options):
        organization = self._plan(plan)
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        actor = system_account(organization=organization, name="834 import")
        with file.open("rb") as source:
            # Imported here, in this process, rather than queued for the worker.
            received = enrollment_file_receive(
                plan=organization,
                source=source,
                original_name=file.name,
                actor=actor,
                queue=False,
            )
        started = time.monotonic()
        show = None if no_progress or not sys.stderr.isatty() else self._progress_bar
        enrollment_file_import(enrollment_file=received, actor=actor, progress=show)
        received.refresh_from_db()
        if show:
            sys.stderr.write("\n")
        self._summary(received, time.monotonic() - started)
        if received.status != EnrollmentFile.Status.DONE:
            raise CommandError(f"The file was rejected whole: {received.error}")

    def _plan(self, code: str) -> Organization:
        plans = Organization.objects.filter(is_plan=True)
        by_uuid = plans.filter(uuid=code).first() if len(code) == 36 else None
        if by_uuid:
            return by_uuid
        matches = list(
            plans.filter(
                pk__in=PlanCode.objects.filter(code=code.upper()).values("plan")
            )
        )
        if not matches:
            raise CommandError(f"No plan has the plan code {code}.")
        if len(matches) > 1:
            raise CommandError(
                f"Plan code {code} belongs to several plans; give the plan's UUID."
            )
        return matches[0]

    def _progress_bar(self, done: int, total: int):
        width = 40
        filled = int(width * done / total) if total else width
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} records"
        )
        sys.stderr.flush()

    def _summary(self, result: EnrollmentFile, seconds: float):
        write = self.stdout.write
        write(f"{result.original_name}: {result.get_status_display()}")
        for name in ("added", "changed", "terminated", "reinstated", "unchanged",
                     "rejected", "missing_from_roster"):  # fmt: skip
            write(f"  {name.replace('_', ' '):<20}{getattr(result, name):>10,}")
        duplicates = result.issues.filter(kind="duplicate").count()
        write(f"  {'repeated records':<20}{duplicates:>10,}")
        rate = result.records_done / seconds if seconds else 0
        write(f"  {result.records_done:,} records in {seconds:.1f} s ({rate:,.0f}/s)")
        for issue in result.issues.filter(kind="rejected")[:20]:
            write(f"  rejected: segment {issue.segment_number} {issue.segment} "
                  f"CIN {issue.cin or '?'}: {issue.reason}")  # fmt: skip
