"""Benchmark: the 834 import at plan scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/calaim_dev DEBUG=true \
        .venv/bin/python bench/import_834.py [--members 100000] [--skip-pyx12]

Generates a deterministic synthetic 834 with N members, imports it into an empty
database (`calaim_bench_834`, emptied at the start of each run), imports the same
content again under a new interchange control number (nothing changes), then a
change file touching 1% of the members. Prints members per second and the peak
RSS of this process and of the parser child the import forks, and, in the same
run, how long pyx12's x12valid takes only to validate the same file (a
subprocess), with the ratio.

Targets on the 2-core machine: first import of 100,000 members under 20 s and at
least 10x faster than pyx12's validation alone; the unchanged re-import under
10 s; peak memory under 300 MB and flat as N grows.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calaim.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection, connections  # noqa: E402

BENCH_DB = "calaim_bench_834"
MEMBER_TABLES = [
    "members_memberplansnapshot",
    "members_memberchange",
    "members_enrollmentfileissue",
    "members_enrollment",
    "members_enrollmentfile",
    "members_membercin",
    "members_membergrant",
    "members_memberpopulation",
    "members_otherprogramenrollment",
    "members_member",
    "audit_auditevent",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_peak_rss_mb() -> float:
    """The import parses in a forked child; its peak counts the pages it still
    shares with this process, so it overstates what the child adds."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def use_empty_database():
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = BENCH_DB
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=True, serialize=False
    )
    connections["default"].settings_dict["NAME"] = BENCH_DB
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(MEMBER_TABLES)} CASCADE")


def plan_and_actor():
    from calaim.accounts.models import County, Organization, PlanCode
    from calaim.accounts.services import system_account

    plan, _ = Organization.objects.get_or_create(
        name="Bench Import Plan", defaults={"is_plan": True}
    )
    PlanCode.objects.get_or_create(
        plan=plan, county=County.objects.get(code="37"), defaults={"code": "170"}
    )
    return plan, system_account(organization=plan, name="834 import")


def run_import(plan, actor, path: Path, label: str, members: int):
    from members.services.enrollment_import import (
        enrollment_file_import,
        enrollment_file_receive,
    )

    started = time.perf_counter()
    with path.open("rb") as source:
        received = enrollment_file_receive(
            plan=plan, source=source, original_name=path.name, actor=actor, queue=False
        )
    result = enrollment_file_import(enrollment_file=received, actor=actor)
    seconds = time.perf_counter() - started
    result.refresh_from_db()
    counts = ", ".join(
        f"{name} {getattr(result, name):,}"
        for name in ("added", "changed", "terminated", "unchanged", "rejected")
        if getattr(result, name)
    )
    print(
        f"{label:<34}{seconds:>8.1f} s{members / seconds:>12,.0f} members/s"
        f"{peak_rss_mb():>10.0f} MB{child_peak_rss_mb():>8.0f} MB   "
        f"{result.status}: {counts}",
        flush=True,
    )
    return seconds


def pyx12_seconds(path: Path) -> float | None:
    executable = Path(sys.executable).parent / "x12valid"
    if not executable.exists():
        return None
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [str(executable), "--quiet", str(path)],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--skip-pyx12", action="store_true")
    args = parser.parse_args()
    from members.x12 import synthetic

    use_empty_database()
    plan, actor = plan_and_actor()
    with tempfile.TemporaryDirectory() as folder:
        first = Path(folder) / "add.x12"
        again = Path(folder) / "again.x12"
        change = Path(folder) / "change.x12"
        started = time.perf_counter()
        synthetic.write_834(first, args.members, interchange_control=1)
        synthetic.write_834(again, args.members, interchange_control=2)
        synthetic.write_834(
            change,
            args.members,
            interchange_control=3,
            maintenance="001",
            changes=0.01,
        )
        size = first.stat().st_size / 2**20
        print(
            f"{args.members:,} members, {size:.1f} MB per file, "
            f"written in {time.perf_counter() - started:.1f} s\n"
        )
        print(f"{'step':<34}{'time':>10}{'rate':>22}{'peak RSS':>10}{'parser':>10}")
        first_seconds = run_import(plan, actor, first, "first import", args.members)
        run_import(plan, actor, again, "same content, new control number", args.members)
        run_import(plan, actor, change, "1% change file", args.members)
        if not args.skip_pyx12:
            reference = pyx12_seconds(first)
            if reference is None:
                print("pyx12 is not installed (pip install -r requirements-dev.txt)")
            else:
                print(
                    f"\npyx12 x12valid, validation only: {reference:.1f} s; "
                    f"our whole first import is {reference / first_seconds:.1f}x faster"
                )


if __name__ == "__main__":
    main()
