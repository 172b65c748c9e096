"""The signed-in user's notifications: the list, the navbar badge, the actions."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from calaim.notifications import selectors, services
from calaim.notifications.access import access_notification

PAGE_SIZE = 25


def _login_required_htmx(view):
    """login_required, but an htmx call gets a full-page redirect to sign-in.

    Otherwise htmx would follow the redirect itself and paste the sign-in page
    into the navbar when the session has ended.
    """
    page_view = login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.htmx and not request.user.is_authenticated:
            login = redirect_to_login(request.headers.get("HX-Current-URL", "/"))
            return HttpResponseClientRedirect(login["Location"])
        return page_view(request, *args, **kwargs)

    return wrapper


@login_required
@require_GET
def notification_list(request):
    page = Paginator(selectors.notifications_for(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/list.html", {"page_obj": page})


@never_cache
@_login_required_htmx
@require_GET
def notification_badge(request):
    """The unread count for the navbar, polled by htmx.

    Answers 204 (htmx leaves the page alone) when the count the page shows is
    still right, so screen readers hear the live region only when it changes.
    """
    unread = selectors.notifications_unread_count(request.user)
    if request.GET.get("shown") == str(unread):
        return HttpResponse(status=204)
    # Rendered without the request: the page shell's context is not needed, and
    # this runs every 30 s for every open tab.
    return HttpResponse(
        render_to_string(
            "notifications/_badge_poller.html", {"unread": unread, "loaded": True}
        )
    )


def _after_action(request, notification):
    if request.htmx:
        return render(
            request, "notifications/_item.html", {"notification": notification}
        )
    return redirect("notifications:list")


@_login_required_htmx
@require_POST
def notification_acknowledge(request, public_id):
    notification = access_notification(request.user, public_id)
    services.notification_acknowledge(notification=notification, actor=request.user)
    return _after_action(request, notification)


@_login_required_htmx
@require_POST
def notification_read(request, public_id):
    notification = access_notification(request.user, public_id)
    services.notification_mark_read(notification=notification, actor=request.user)
    return _after_action(request, notification)
