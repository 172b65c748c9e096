"""The 58 California counties: DHCS/MEDS code (alphabetical 01-58) and FIPS code."""

from django.db import migrations

COUNTIES = [
    "Alameda", "Alpine", "Amador", "Butte", "Calaveras", "Colusa", "Contra Costa",
    "Del Norte", "El Dorado", "Fresno", "Glenn", "Humboldt", "Imperial", "Inyo", "Kern",
    "Kings", "Lake", "Lassen", "Los Angeles", "Madera", "Marin", "Mariposa", "Mendocino",
    "Merced", "Modoc", "Mono", "Monterey", "Napa", "Nevada", "Orange", "Placer", "Plumas",
    "Riverside", "Sacramento", "San Benito", "San Bernardino", "San Diego",
    "San Francisco", "San Joaquin", "San Luis Obispo", "San Mateo", "Santa Barbara",
    "Santa Clara", "Santa Cruz", "Shasta", "Sierra", "Siskiyou", "Solano", "Sonoma",
    "Stanislaus", "Sutter", "Tehama", "Trinity", "Tulare", "Tuolumne", "Ventura", "Yolo",
    "Yuba",
]  # fmt: skip


def seed(apps, schema_editor):
    County = apps.get_model("accounts", "County")
    for number, name in enumerate(COUNTIES, start=1):
        # FIPS county codes are the odd numbers in the same alphabetical order.
        County.objects.update_or_create(
            code=f"{number:02d}",
            defaults={"name": name, "fips": f"06{2 * number - 1:03d}"},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
