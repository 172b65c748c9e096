from django.apps import AppConfig


class Hl7Config(AppConfig):
    name = "care_plans.hl7"
    label = "hl7"
    verbose_name = "HL7 v2 intake"
