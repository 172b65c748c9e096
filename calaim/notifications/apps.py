from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "calaim.notifications"
    label = "notifications"
