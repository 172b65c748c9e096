from django.apps import AppConfig


class TransitionsConfig(AppConfig):
    name = "care_plans.transitions"
    label = "transitions"
    verbose_name = "Transitions of care"

    def ready(self):
        from calaim.accounts import roles
        from calaim.web import panels
        from calaim.work.kinds import register_task_kind
        from care_plans.transitions import (
            processor,  # noqa: F401  (registers the ADT processor)
            services,
            tasks,  # noqa: F401  (registers the escalation task)
            views,
        )

        register_task_kind(
            services.FOLLOW_UP_TASK,
            label="Post-discharge follow-up",
            description="Contact the member after a hospital discharge: within 7 "
            "days, or 2 business days after a high-risk discharge.",
        )
        register_task_kind(
            services.IDENTIFICATION_TASK,
            label="Review for ECM (avoidable utilization)",
            description="The member's ED visits or unplanned admissions crossed an "
            "Avoidable Hospital or ED Utilization threshold: decide whether to "
            "identify them for ECM.",
        )
        roles.grant(roles.PLAN_ADMIN, "transitions.view_transitionevent")
        for role in (roles.CARE_MANAGER, roles.SUPERVISOR):
            roles.grant(role, "transitions.view_alert")
        panels.register_panel(
            "transitions",
            title="Hospital transitions",
            template="transitions/panels/transitions.html",
            order=35,
            context=views.transitions_panel,
        )
