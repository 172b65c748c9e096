"""manage.py load_cs_catalog [--file PATH]: load the Community Supports catalog."""

from django.core.management.base import BaseCommand

from community_supports.services import CATALOG_FILE, catalog_load


class Command(BaseCommand):
    help = (
        "Load the Community Supports catalog (supports, HCPCS + modifier pairs, "
        "limits). Idempotent; never overwrites a row an administrator edited."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(CATALOG_FILE))

    def handle(self, *args, **options):
        report = catalog_load(path=options["file"])
        self.stdout.write(f"Community Supports catalog: {report}")
        for row in report.kept:
            self.stdout.write(f"  kept {row}")
