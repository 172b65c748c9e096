"""The browser shell: sign-in, home page per role, session keep-alive, health."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from calaim.web.forms import LoginForm
from calaim.web.panels import evaluate_home_panels


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def home(request):
    """The signed-in user's start page: the panels their roles register."""
    return render(request, "web/home.html", {"panels": evaluate_home_panels(request)})


@never_cache
@require_POST
@login_required
def session_keepalive(request):
    """The idle warning's "Stay signed in" button.

    Being a user-made request is the whole point: the idle middleware extends the
    session on the way out, so there is nothing else to do here.
    """
    return HttpResponse(status=204)


@never_cache
@require_GET
def health(request):
    """Liveness for load balancers and the run command's smoke mode."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
