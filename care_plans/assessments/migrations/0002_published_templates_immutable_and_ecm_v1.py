"""A published or retired template's definition never changes (a trigger), and
the standard ECM comprehensive assessment, version 1, published.

The definition is read from data/ecm_comprehensive_v1.json (a frozen file: a
new version of the template gets a file and a migration of its own).
"""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

FORWARD = """
CREATE FUNCTION assessments_template_refuse_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status <> 'draft' AND (
        NEW.definition IS DISTINCT FROM OLD.definition
        OR NEW.code IS DISTINCT FROM OLD.code
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.status = 'draft'
    ) THEN
        RAISE EXCEPTION 'assessment template % v% is % and cannot change',
            OLD.code, OLD.version, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER assessments_template_immutable
    BEFORE UPDATE ON assessments_assessmenttemplate
    FOR EACH ROW EXECUTE FUNCTION assessments_template_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS assessments_template_immutable
    ON assessments_assessmenttemplate;
DROP FUNCTION IF EXISTS assessments_template_refuse_change();
"""

DEFINITION = Path(__file__).resolve().parents[1] / "data" / "ecm_comprehensive_v1.json"


def seed(apps, schema_editor):
    template = apps.get_model("assessments", "AssessmentTemplate")
    if template.objects.filter(code="ecm-comprehensive", version=1).exists():
        return
    template.objects.create(
        code="ecm-comprehensive",
        name="ECM comprehensive assessment",
        version=1,
        status="published",
        published_at=timezone.now(),
        definition=json.loads(DEFINITION.read_text(encoding="utf-8")),
    )


def unseed(apps, schema_editor):
    template = apps.get_model("assessments", "AssessmentTemplate")
    template.objects.filter(
        code="ecm-comprehensive", version=1, assessments__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_templates_and_assessments")]
    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(seed, unseed),
    ]
