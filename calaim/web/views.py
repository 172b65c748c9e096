"""The browser shell: sign-in, home page per role, health check."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from calaim.accounts import roles as role_registry


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request):
    user = request.user
    user_roles = [
        role_registry.ROLES[name]
        for name in sorted(user.role_names)
        if name in role_registry.ROLES
    ]
    return render(request, "web/home.html", {"roles": user_roles})


@never_cache
@require_GET
def health(request):
    """Liveness for load balancers and the run command's smoke mode."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
