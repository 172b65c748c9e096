"""Episodes created before the lifecycle existed said "referred": now "identified"."""

from django.db import migrations


def forward(apps, schema_editor):
    Episode = apps.get_model("care_plans", "Episode")
    Episode.objects.filter(status="referred").update(status="identified")


class Migration(migrations.Migration):
    dependencies = [
        ("care_plans", "0002_episode_lifecycle_outreach_encounters_notices")
    ]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
