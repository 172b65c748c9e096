"""Forms of the browser shell."""

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed


class LoginForm(AuthenticationForm):
    """Sign-in for people only.

    A service account is a machine identity (an API client, an import); it acts
    through OAuth2 tokens and must never hold a browser session, even if someone
    gave it a password. It gets the same generic error as a wrong password, so the
    form does not reveal which addresses are service accounts, and the attempt
    counts as a failed sign-in (audit trail and lockout).
    """

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_service_account:
            user_login_failed.send(
                sender=__name__,
                credentials={"username": self.cleaned_data.get("username", "")},
                request=self.request,
            )
            raise self.get_invalid_login_error()
