from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "calaim.accounts"
    label = "accounts"
    verbose_name = "Organizations, users and roles"

    def ready(self):
        from calaim.accounts import roles, signals  # noqa: F401

        post_migrate.connect(
            roles.sync_roles_after_migrate, dispatch_uid="calaim_sync_roles"
        )
