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

        from calaim import access as registry
        from calaim.web import panels
        from referrals import selectors

        def referrals_panel(request, member):
            scope = getattr(request, "chart_scope", registry.REFERRAL)
            referrals = selectors.referrals_for_member(
                user=request.user, member=member, scope=scope
            )
            return {"referrals": list(referrals)}

        def referral_inbox_panel(request):
            referrals, count = panels.first_and_count(
                selectors.open_referrals_received(request.user)
            )
            return {"referrals": referrals, "count": count}

        panels.register_panel(
            "referrals",
            title="Referrals",
            template="web/panels/referrals.html",
            order=50,
            scope=registry.REFERRAL,
            context=referrals_panel,
        )
        panels.register_home_panel(
            "referral_inbox",
            title="Open referrals",
            template="web/panels/referral_inbox.html",
            order=30,
            roles=(roles.CS_PROVIDER,),
            context=referral_inbox_panel,
        )
