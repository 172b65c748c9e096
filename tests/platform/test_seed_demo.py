"""seed_demo: every role has a demo account, and running it twice changes nothing."""

from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from calaim.accounts import roles
from calaim.accounts.models import User
from tests.matrix import database_fingerprint


def test_seed_demo_is_idempotent_and_prints_the_accounts(db):
    output = StringIO()
    call_command("seed_demo", stdout=output)
    first = database_fingerprint()
    call_command("seed_demo", "--quiet")
    assert database_fingerprint() == first
    text = output.getvalue()
    assert "care.manager@harbor.example" in text
    assert "demo-password-2026" in text


def test_every_human_role_has_a_demo_account_that_can_sign_in(db, client):
    call_command("seed_demo", "--quiet")
    for role in roles.ROLES.values():
        if role.machine:
            continue
        user = User.objects.filter(groups__name=role.name).first()
        assert user is not None, role.name
        response = client.post(
            reverse("login"), {"username": user.email, "password": "demo-password-2026"}
        )
        assert response.status_code == 302, role.name
        client.post(reverse("logout"))


def test_the_demo_care_manager_has_a_caseload_and_the_plans_are_separate(db):
    from calaim.access import visible_members

    call_command("seed_demo", "--quiet")
    Member = apps.get_model("members", "Member")
    assert Member.objects.count() == 40
    care_manager = User.objects.get(email="care.manager@harbor.example")
    colleague = User.objects.get(email="colleague@harbor.example")
    pacific = User.objects.get(email="plan.admin@pacificcoast.example")
    golden = User.objects.get(email="plan.admin@goldenvalley.example")
    assert visible_members(care_manager).count() > 5
    assert visible_members(colleague).count() == 0
    pacific_ids = set(visible_members(pacific).values_list("pk", flat=True))
    golden_ids = set(visible_members(golden).values_list("pk", flat=True))
    assert pacific_ids
    assert golden_ids
    assert not pacific_ids & golden_ids
