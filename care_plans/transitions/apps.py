from django.apps import AppConfig


class TransitionsConfig(AppConfig):
    name = "care_plans.transitions"
    label = "transitions"
    verbose_name = "Transitions of care"
