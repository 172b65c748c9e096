from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members and enrollment"

    def ready(self):
        from calaim import access as registry
        from calaim.accounts import roles
        from members import access  # noqa: F401  (registers the access rules)
        from members.models import Member

        registry.register_member_model(Member)
        viewers = (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PROVIDER_ADMIN,
            roles.PLAN_ADMIN,
            roles.CS_PROVIDER,
            roles.AUDITOR,
            roles.PROVIDER_API,
        )
        for role in viewers:
            roles.grant(role, "members.view_member")
        for role in (roles.SUPERVISOR, roles.PROVIDER_ADMIN, roles.PLAN_ADMIN):
            roles.grant(role, "members.grant_member_access")
        for role in (roles.CARE_MANAGER, roles.SUPERVISOR):
            roles.grant(role, "members.break_glass")
        # Consents: whoever sees the chart reads them; the member's care team on the
        # ECM provider's side (and its system) and the plan record and revoke them.
        for role in viewers:
            if role != roles.CS_PROVIDER:
                roles.grant(role, "members.view_consent")
        for role in (
            roles.CARE_MANAGER,
            roles.SUPERVISOR,
            roles.PLAN_ADMIN,
            roles.PROVIDER_API,
        ):
            roles.grant(role, "members.add_consent", "members.revoke_consent")
        # Plan administrators keep the roster: 834 imports, merges, populations.
        roles.grant(
            roles.PLAN_ADMIN,
            "members.change_member",
            "members.add_enrollmentfile",
            "members.view_enrollmentfile",
            "members.add_memberpopulation",
            "members.add_otherprogramenrollment",
        )

        from calaim.web import panels
        from members import consent_views, views

        # The member record's panels: chart scope (the default), so a Community
        # Supports provider with only referral access never gets them.
        chart_panels = [
            ("demographics", "Demographics", 5, views.demographics_panel),
            ("enrollment", "Enrollment history", 10, views.enrollment_panel),
            ("populations", "Populations of focus", 30, views.populations_panel),
            (
                "other_programs",
                "Programs that exclude ECM",
                35,
                views.other_programs_panel,
            ),
            ("consents", "Consents", 40, consent_views.consents_panel),
            ("cin_history", "CIN history", 60, views.cin_history_panel),
            ("changes", "Changes", 70, views.changes_panel),
        ]
        for key, title, order, context in chart_panels:
            panels.register_panel(
                key,
                title=title,
                template=f"members/panels/{key}.html",
                order=order,
                context=context,
            )
        panels.register_home_panel(
            "plan_members",
            title="Members of the plan",
            template="members/panels/plan_members.html",
            order=10,
            roles=(roles.PLAN_ADMIN,),
            context=views.plan_members_panel,
        )
