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
        # Who takes which step (DESIGN.md §4.4): care managers refer, the plan
        # authorizes, the receiving provider works the referral.
        for role in (roles.CARE_MANAGER, roles.SUPERVISOR, roles.PROVIDER_API):
            roles.grant(role, "referrals.add_referral", "referrals.change_referral")
        roles.grant(
            roles.PLAN_ADMIN,
            "referrals.change_referral",
            "referrals.authorize_referral",
        )
        for role in (roles.CS_PROVIDER, roles.PROVIDER_ADMIN, roles.PROVIDER_API):
            roles.grant(role, "referrals.work_referral")

        from calaim.work.kinds import register_task_kind
        from referrals.services import _common as clocks

        register_task_kind(
            clocks.AUTHORIZATION_TASK,
            label="Community Supports authorization decision",
            description="Decide a Community Supports referral: 5 business days, "
            "or 72 hours when expedited; paused while pended.",
        )
        register_task_kind(
            clocks.ACKNOWLEDGEMENT_TASK,
            label="Referral acknowledgement",
            description="Accept or decline a referral offer within 2 business days.",
        )
        register_task_kind(
            clocks.DELIVERY_TASK,
            label="Referral service start",
            description="Start the services of an accepted referral; paused on hold.",
        )

        from referrals import links

        links.register()

        from calaim import access as registry
        from calaim.web import panels
        from referrals import views

        panels.register_panel(
            "referrals",
            title="Referrals",
            template="referrals/panels/referrals.html",
            order=45,
            scope=registry.REFERRAL,
            context=views.referrals_panel,
        )
        panels.register_home_panel(
            "referral_inbox",
            title="Open referrals",
            template="web/panels/referral_inbox.html",
            order=30,
            roles=(roles.CS_PROVIDER,),
            context=views.referral_inbox_panel,
        )
