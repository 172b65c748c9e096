"""Signed, expiring, single-use action links (platform, layer 0).

For a provider without a system or an account: an e-mail carries a link that
performs one action (accept an offer, reject it with a reason, complete) once.
Apps register what an action does with `register_link_action` in their
AppConfig.ready() and issue links with `action_link_create`; the one view at
/links/<token>/ confirms on GET and acts on POST, once.

Both names are importable from here (`from calaim.links import ...`); they load
the modules on call so that importing this package never touches the models.
"""


def register_link_action(action, *, handler, form=None, label=None, summary=None):
    from calaim.links.registry import register_link_action as register

    return register(action, handler=handler, form=form, label=label, summary=summary)


def action_link_create(*, action, object_id, recipient_email, expires_in, actor):
    from calaim.links.services import action_link_create as create

    return create(
        action=action,
        object_id=object_id,
        recipient_email=recipient_email,
        expires_in=expires_in,
        actor=actor,
    )
