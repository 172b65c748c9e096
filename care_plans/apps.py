from django.apps import AppConfig


class CarePlansConfig(AppConfig):
    name = "care_plans"
    verbose_name = "Enhanced Care Management"

    def ready(self):
        from calaim.accounts import roles
        from care_plans import access  # noqa: F401  (registers the access rules)

        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PLAN_ADMIN,
            roles.PROVIDER_API,
        ):
            roles.grant(role, "care_plans.view_episode")
        # Who takes which step of the episode (DESIGN.md §4.2).
        roles.grant(
            roles.PLAN_ADMIN,
            "care_plans.add_episode",
            "care_plans.authorize_episode",
            "care_plans.assign_episode",
            "care_plans.assign_lead_care_manager",
            "care_plans.discontinue_episode",
        )
        for role in (roles.SUPERVISOR, roles.PROVIDER_ADMIN):
            roles.grant(
                role,
                "care_plans.add_episode",
                "care_plans.assign_lead_care_manager",
                "care_plans.discontinue_episode",
            )
        roles.grant(roles.PROVIDER_ADMIN, "care_plans.presumptively_authorize_episode")
        for role in (roles.CARE_MANAGER, roles.SUPERVISOR, roles.PROVIDER_API):
            roles.grant(
                role,
                "care_plans.add_outreachattempt",
                "care_plans.add_encounter",
                "care_plans.enroll_episode",
            )
        roles.grant(roles.CARE_MANAGER, "care_plans.add_episode")
        roles.grant(roles.PROVIDER_API, "care_plans.discontinue_episode")
        # The care plan, the care team and conferences (issue 6): the plan's
        # people and the auditor read them; the provider's care staff write them.
        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PLAN_ADMIN,
            roles.AUDITOR,
            roles.PROVIDER_API,
        ):
            roles.grant(
                role,
                "care_plans.view_careplan",
                "care_plans.view_careteammember",
                "care_plans.view_careconference",
            )
        for role in (roles.CARE_MANAGER, roles.SUPERVISOR, roles.PROVIDER_API):
            roles.grant(
                role,
                "care_plans.add_careplan",
                "care_plans.change_careplan",
                "care_plans.add_careconference",
            )
        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PROVIDER_API,
        ):
            roles.grant(
                role,
                "care_plans.add_careteammember",
                "care_plans.delete_careteammember",
            )

        from calaim.work.kinds import register_task_kind
        from care_plans.services.care_plans import REVIEW_TASK
        from care_plans.services.episodes import (
            ASSESSMENT_TASK,
            AUTHORIZATION_TASK,
            CARE_PLAN_TASK,
            end_episodes_on_termination,
        )
        from members.services import termination_hooks

        register_task_kind(
            AUTHORIZATION_TASK,
            label="ECM authorization decision",
            description="Decide an ECM authorization request: 5 business days, "
            "or 72 hours when expedited.",
        )
        register_task_kind(
            REVIEW_TASK,
            label="Care plan review",
            description="Review the care plan with the member: every 6 months, "
            "and after an inpatient discharge.",
        )
        register_task_kind(
            ASSESSMENT_TASK,
            label="Comprehensive assessment due",
            description="Complete the member's initial comprehensive assessment: "
            "within 60 days of ECM enrollment.",
        )
        register_task_kind(
            CARE_PLAN_TASK,
            label="Care management plan due",
            description="Record the member's agreement to a care management plan: "
            "within 90 days of ECM enrollment.",
        )
        if end_episodes_on_termination not in termination_hooks:
            termination_hooks.append(end_episodes_on_termination)

        from calaim.web import panels
        from care_plans import views

        panels.register_panel(
            "ecm_episode",
            title="ECM episode",
            template="web/panels/ecm_episode.html",
            order=20,
            context=views.episode_panel,
        )
        panels.register_home_panel(
            "caseload",
            title="My caseload",
            template="web/panels/caseload.html",
            order=10,
            roles=(roles.CARE_MANAGER,),
            context=views.caseload_panel,
        )
        panels.register_home_panel(
            "organization_episodes",
            title="Open ECM episodes of my organization",
            template="web/panels/organization_episodes.html",
            order=20,
            roles=(roles.SUPERVISOR, roles.PROVIDER_ADMIN),
            context=views.organization_episodes_panel,
        )

        # The care manager's ECM panels (care_plans/cm_views.py), after the
        # episode itself.
        from calaim import access as registry_scopes
        from care_plans import chart_views, cm_views

        for key, title, order, context in (
            ("ecm_outreach", "Outreach", 22, cm_views.outreach_panel),
            ("ecm_encounters", "Encounters", 24, cm_views.encounters_panel),
            ("ecm_timeline", "Timeline", 26, chart_views.timeline_panel),
            ("ecm_notices", "Notices", 28, cm_views.notices_panel),
        ):
            panels.register_panel(
                key,
                title=title,
                template=f"care_plans/panels/{key.removeprefix('ecm_')}.html",
                order=order,
                scope=registry_scopes.CHART,
                context=context,
            )

        # The chart's header facts (members/chart.html draws this "panel" in the
        # header, not in the grid), the care plan and the care team.
        panels.register_panel(
            chart_views.HEADER_PANEL,
            title="Member",
            template="care_plans/chart/header.html",
            order=0,
            scope=registry_scopes.CHART,
            context=chart_views.header_panel,
        )
        for key, title, order, context in (
            ("care_plan", "Care plan", 32, chart_views.care_plan_panel),
            ("care_team", "Care team", 34, chart_views.care_team_panel),
        ):
            panels.register_panel(
                key,
                title=title,
                template=f"care_plans/chart/{key}.html",
                order=order,
                scope=registry_scopes.CHART,
                context=context,
            )
