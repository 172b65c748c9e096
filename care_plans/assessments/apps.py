from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "care_plans.assessments"
    label = "assessments"
    verbose_name = "Comprehensive assessments"

    def ready(self):
        from calaim.accounts import roles
        from calaim.web import panels
        from care_plans.assessments import views

        # Readers: whoever works with the member's chart; plan staff read only.
        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PLAN_ADMIN,
            roles.PROVIDER_API,
        ):
            roles.grant(
                role,
                "assessments.view_assessment",
                "assessments.view_assessmenttemplate",
            )
        # Writers: the care team of the open episode (services.is_care_team).
        for role in (roles.CARE_MANAGER, roles.SUPERVISOR, roles.PROVIDER_API):
            roles.grant(
                role,
                "assessments.add_assessment",
                "assessments.change_assessment",
                "assessments.complete_assessment",
            )
        # Templates are data a plan administrator adds (in the Django admin).
        roles.grant(
            roles.PLAN_ADMIN,
            "assessments.add_assessmenttemplate",
            "assessments.change_assessmenttemplate",
        )

        panels.register_panel(
            "assessment",
            title="Comprehensive assessment",
            template="assessments/panel.html",
            order=30,
            context=views.assessment_panel,
        )
