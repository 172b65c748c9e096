from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "calaim.links"
    label = "links"
    verbose_name = "Action links"

    def ready(self):
        from calaim.links import services  # noqa: F401  (registers "links.email")
