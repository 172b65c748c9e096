from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "calaim.work"
    label = "work"
