"""Permission-matrix entry for the action-link page: public by design (the
recipient has no account); the signed token is the permission, and GET never acts."""

from datetime import timedelta

from tests.cast import EVERYONE
from tests.matrix import API, register

MATRIX_ACTION = "tests.matrix_link"


def _noop(*, object_id, data, link):
    return "Done."


def link_path(cast):
    path = cast.__dict__.get("action_link_path")
    if path is None:
        from calaim.links import action_link_create, register_link_action

        register_link_action(MATRIX_ACTION, handler=_noop, label="Matrix check")
        url = action_link_create(
            action=MATRIX_ACTION,
            object_id="1",
            recipient_email="intake@provider.example",
            expires_in=timedelta(days=1),
            actor=cast.plan_admin,
        )
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        cast.__dict__["action_link_path"] = path
    return path


# kind=API: the harness asserts a sign-in redirect for every anonymous *page*
# call, even an allowed one; as API it is called by everyone, machines included,
# and each must get the confirmation page (200).
register("action_link", "GET", link_path, kind=API, allowed=EVERYONE)
