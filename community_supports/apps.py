from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CommunitySupportsConfig(AppConfig):
    name = "community_supports"
    verbose_name = "Community Supports network"

    def ready(self):
        from calaim.accounts import roles
        from community_supports.services import catalog_load_after_migrate

        # The catalog is reference data, not PHI: everyone signed in reads it.
        for role in roles.ROLES:
            roles.grant(
                role,
                "community_supports.view_communitysupport",
                "community_supports.view_servicecode",
                "community_supports.view_supportlimit",
            )
        roles.grant(
            roles.PLAN_ADMIN,
            "community_supports.view_planoffering",
            "community_supports.add_planoffering",
            "community_supports.change_planoffering",
            "community_supports.view_providercontract",
            "community_supports.add_providercontract",
            "community_supports.change_providercontract",
        )
        roles.grant(roles.AUDITOR, "community_supports.view_planoffering")
        for role in (roles.PROVIDER_ADMIN, roles.CS_PROVIDER, roles.SUPERVISOR):
            roles.grant(role, "community_supports.view_providercontract")

        post_migrate.connect(
            catalog_load_after_migrate, dispatch_uid="community_supports_catalog"
        )
