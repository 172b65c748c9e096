from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "calaim.outbox"
    label = "outbox"
