"""The session's user arrives with what every page reads about them, in one query
(calaim.accounts.backends), and sessions from before that backend stay signed in."""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from calaim.accounts import roles
from calaim.accounts.backends import DJANGO_MODEL_BACKEND, USER_BACKEND, UserBackend
from calaim.accounts.models import User
from tests import factories


def _fresh(user):
    return User.objects.get(pk=user.pk)


def test_session_user_comes_with_organization_roles_and_permissions(
    cast, django_assert_num_queries
):
    user = cast.supervisor
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    user.groups.add(*Group.objects.filter(name=roles.CARE_MANAGER))

    with django_assert_num_queries(1):
        loaded = UserBackend().get_user(user.pk)
    with django_assert_num_queries(0):
        organization = loaded.organization.name
        role_names = loaded.role_names
        permissions = loaded.get_all_permissions()
        allowed = loaded.has_perm("audit.view_auditevent")

    django = ModelBackend()
    assert organization == "Cast ECM Provider"
    assert role_names == {roles.SUPERVISOR, roles.CARE_MANAGER}
    assert permissions == django.get_all_permissions(_fresh(user))
    assert loaded.get_user_permissions() == {"audit.view_auditevent"}
    assert loaded.get_group_permissions() == django.get_group_permissions(_fresh(user))
    assert allowed


def test_user_without_roles_or_permissions_has_none(db):
    user = factories.UserFactory()

    loaded = UserBackend().get_user(user.pk)

    assert loaded.role_names == frozenset()
    assert loaded.get_all_permissions() == set()


def test_inactive_or_missing_user_is_nobody(cast):
    User.objects.filter(pk=cast.colleague.pk).update(is_active=False)

    assert UserBackend().get_user(cast.colleague.pk) is None
    assert UserBackend().get_user(10**9) is None


def test_superuser_keeps_every_permission(db):
    superuser = User.objects.create_superuser("root@example.org", full_name="Root")

    loaded = UserBackend().get_user(superuser.pk)

    assert loaded.organization is None
    assert loaded.has_perm("members.view_member")
    assert loaded.get_all_permissions() == ModelBackend().get_all_permissions(
        _fresh(superuser)
    )


def test_session_from_before_the_backend_stays_signed_in(client, cast):
    client.force_login(cast.lead_care_manager, backend=DJANGO_MODEL_BACKEND)
    assert client.session[BACKEND_SESSION_KEY] == DJANGO_MODEL_BACKEND

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert cast.lead_care_manager.full_name in response.content.decode()
    assert client.session[BACKEND_SESSION_KEY] == USER_BACKEND
    assert client.get(reverse("home")).status_code == 200


def test_password_change_still_signs_other_sessions_out(client, cast):
    client.force_login(cast.lead_care_manager)
    user = _fresh(cast.lead_care_manager)
    user.set_password("a-new-long-password-42")
    user.save(update_fields=["password"])

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
