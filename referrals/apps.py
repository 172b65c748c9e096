from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Closed-loop referrals"

    def ready(self):
        from calaim.accounts import roles
        from referrals import access  # noqa: F401  (registers the access rules)

        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PLAN_ADMIN,
            roles.CS_PROVIDER,
            roles.PROVIDER_API,
        ):
            roles.grant(role, "referrals.view_referral")
