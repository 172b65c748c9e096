from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "calaim.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from calaim.accounts import roles
        from calaim.audit import signals  # noqa: F401

        roles.grant(roles.AUDITOR, "audit.view_auditevent")
