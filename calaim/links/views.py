"""The one action-link page: confirm on GET (never acts), act on POST once."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from calaim.audit.services import audit_record
from calaim.errors import ConflictError
from calaim.links.registry import link_action
from calaim.links.services import (
    LinkState,
    LinkUnusable,
    action_link_use,
    link_from_token,
    link_state,
)

GONE_MESSAGES = {
    LinkState.USED: "This link has already been used. Each link works once.",
    LinkState.EXPIRED: "This link has expired. Ask the plan or the care manager "
    "for a new one.",
    LinkState.REVOKED: "This link was withdrawn and no longer works.",
}


def _gone(request, state: LinkState):
    return render(
        request,
        "links/gone.html",
        {"message": GONE_MESSAGES[state], "state": state.value},
        status=410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def action_link(request, token):
    link = link_from_token(token)
    if link is None:
        raise Http404("No such link.")
    state = link_state(link)
    if state is not LinkState.USABLE:
        return _gone(request, state)
    registered = link_action(link.action)
    form_class = registered.form
    form = form_class(request.POST or None) if form_class else None
    context = {
        "link": link,
        "label": registered.label,
        "summary": registered.summary(link.object_id) if registered.summary else "",
        "form": form,
    }
    if request.method == "GET":
        audit_record(
            action="view",
            object_type="action_link",
            object_id=link.uuid,
            reason=f"opened by link recipient {link.recipient_email}",
        )
        return render(request, "links/confirm.html", context)
    if form is not None and not form.is_valid():
        return render(request, "links/confirm.html", context, status=400)
    try:
        message = action_link_use(
            link=link, data=form.cleaned_data if form is not None else {}
        )
    except LinkUnusable as unusable:
        return _gone(request, unusable.state)
    except ValidationError as error:
        context["errors"] = error.messages
        return render(request, "links/confirm.html", context, status=400)
    except ConflictError as error:
        context["errors"] = [error.message]
        return render(request, "links/confirm.html", context, status=409)
    except PermissionDenied as error:
        context["errors"] = [str(error) or "This action is no longer allowed."]
        return render(request, "links/confirm.html", context, status=403)
    return render(
        request, "links/done.html", {"label": registered.label, "message": message}
    )
