from django.apps import AppConfig


class CarePlansConfig(AppConfig):
    name = "care_plans"
    verbose_name = "Enhanced Care Management"

    def ready(self):
        from calaim.accounts import roles
        from care_plans import access  # noqa: F401  (registers the access rules)

        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PLAN_ADMIN,
            roles.PROVIDER_API,
        ):
            roles.grant(role, "care_plans.view_episode")

        from calaim.web import panels
        from care_plans import views

        panels.register_panel(
            "ecm_episode",
            title="ECM episode",
            template="web/panels/ecm_episode.html",
            order=20,
            context=views.episode_panel,
        )
        panels.register_home_panel(
            "caseload",
            title="My caseload",
            template="web/panels/caseload.html",
            order=10,
            roles=(roles.CARE_MANAGER,),
            context=views.caseload_panel,
        )
        panels.register_home_panel(
            "organization_episodes",
            title="Open ECM episodes of my organization",
            template="web/panels/organization_episodes.html",
            order=20,
            roles=(roles.SUPERVISOR, roles.PROVIDER_ADMIN),
            context=views.organization_episodes_panel,
        )
