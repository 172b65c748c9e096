from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "calaim.web"
    label = "web"
    verbose_name = "Browser shell"

    def ready(self):
        from calaim.accounts import roles
        from calaim.web import panels

        panels.register_home_panel(
            "audit_trail",
            title="Audit trail",
            template="web/panels/audit_trail.html",
            order=90,
            roles=(roles.AUDITOR,),
        )
