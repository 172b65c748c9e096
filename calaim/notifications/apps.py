from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "calaim.notifications"
    label = "notifications"

    def ready(self):
        # Registers the outbox handlers "notification.create" and
        # "notification.email".
        from calaim.notifications import handlers  # noqa: F401
