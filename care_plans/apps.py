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
