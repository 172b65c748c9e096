"""Sign-in, failed sign-in and sign-out go to the audit trail."""

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.dispatch import receiver

from calaim.audit.models import AuditAction
from calaim.audit.services import audit_login


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    audit_login(request=request, user=user, action=AuditAction.LOGIN)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    attempted = credentials.get("username") or credentials.get("email") or ""
    audit_login(
        request=request, user=None, action=AuditAction.LOGIN_FAILED, attempted=attempted
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_login(request=request, user=user, action=AuditAction.LOGOUT)
