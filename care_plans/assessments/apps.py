from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "care_plans.assessments"
    label = "assessments"
    verbose_name = "Comprehensive assessments"
