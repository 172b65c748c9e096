"""Serializers of the care plan, care team and conference API: explicit input
(plain Serializers) and output (rendered from dicts built by `plan_row` etc.)."""

from rest_framework import serializers

from care_plans.models import (
    CareTeamRole,
    GoalStatus,
    Intervention,
    InterventionStatus,
    Need,
    NeedDomain,
)

# Goal and intervention statuses are plain strings in the schema, their values
# listed in the help text: as enums they would collide with the other APIs'
# "status" enums in the OpenAPI component names. The services validate them.
GOAL_STATUS_HELP = "One of: " + ", ".join(GoalStatus.values) + "."
INTERVENTION_STATUS_HELP = "One of: " + ", ".join(InterventionStatus.values) + "."

# --- Output ---------------------------------------------------------------------------


class InterventionOutput(serializers.Serializer):
    uid = serializers.UUIDField(help_text="Stable across plan versions.")
    description = serializers.CharField()
    responsible = serializers.ChoiceField(choices=Intervention.Responsible.choices)
    responsible_user_email = serializers.EmailField(allow_null=True)
    responsible_name = serializers.CharField()
    responsible_contact_id = serializers.UUIDField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text=INTERVENTION_STATUS_HELP)


class GoalOutput(serializers.Serializer):
    uid = serializers.UUIDField(help_text="Stable across plan versions.")
    description = serializers.CharField(help_text="In the member's own words.")
    target_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text=GOAL_STATUS_HELP)
    part2 = serializers.BooleanField(help_text="Substance-use content (42 CFR Part 2).")
    interventions = InterventionOutput(many=True)


class NeedOutput(serializers.Serializer):
    uid = serializers.UUIDField(help_text="Stable across plan versions.")
    domain = serializers.ChoiceField(choices=NeedDomain.choices)
    description = serializers.CharField()
    source = serializers.ChoiceField(choices=Need.Source.choices)
    question = serializers.CharField()
    goals = GoalOutput(many=True)


class CarePlanOutput(serializers.Serializer):
    id = serializers.UUIDField()
    episode_id = serializers.UUIDField()
    member_id = serializers.UUIDField()
    number = serializers.IntegerField(help_text="1 for the first version, then 2, ...")
    status = serializers.ChoiceField(choices=["draft", "agreed", "superseded"])
    version = serializers.IntegerField(
        help_text="Send it back (or as If-Match) with every write to this plan."
    )
    language = serializers.CharField()
    member_agreed_on = serializers.DateField(allow_null=True)
    agreed_by = serializers.CharField(allow_null=True)
    latest_care_plan_revision_date = serializers.DateField(
        allow_null=True, help_text="RTF 20, for an agreed version."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    needs = NeedOutput(many=True)
    part2_withheld = serializers.IntegerField(
        help_text="Goals withheld under 42 CFR Part 2 (no consent covers you)."
    )
    part2_notice = serializers.CharField(
        allow_null=True,
        help_text="The 42 CFR 2.32 notice, present when Part 2 goals are disclosed.",
    )


class CarePlanVersionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.IntegerField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    member_agreed_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CareTeamMemberOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["staff", "contact"])
    role = serializers.ChoiceField(choices=CareTeamRole.choices)
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    organization_name = serializers.CharField()
    access_until = serializers.DateTimeField(allow_null=True)
    added_at = serializers.DateTimeField()
    removed_at = serializers.DateTimeField(allow_null=True)


class CareConferenceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    episode_id = serializers.UUIDField()
    most_recent_care_conference_date = serializers.DateField(
        source="held_on", help_text="RTF 21: the date the conference was held."
    )
    attendees = serializers.CharField()
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()


# --- Input ----------------------------------------------------------------------------


class InterventionInput(serializers.Serializer):
    uid = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(max_length=2000)
    responsible = serializers.ChoiceField(
        choices=Intervention.Responsible.choices, default="staff"
    )
    responsible_user_email = serializers.EmailField(required=False, allow_null=True)
    responsible_contact_id = serializers.UUIDField(required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(
        max_length=15, default="planned", help_text=INTERVENTION_STATUS_HELP
    )


class GoalInput(serializers.Serializer):
    uid = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(max_length=2000)
    target_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(
        max_length=15, default="not_started", help_text=GOAL_STATUS_HELP
    )
    part2 = serializers.BooleanField(default=False)
    interventions = InterventionInput(many=True, required=False)


class NeedInput(serializers.Serializer):
    uid = serializers.UUIDField(required=False, allow_null=True)
    domain = serializers.ChoiceField(choices=NeedDomain.choices)
    description = serializers.CharField(max_length=2000)
    source = serializers.ChoiceField(choices=Need.Source.choices, default="manual")
    question = serializers.CharField(max_length=100, required=False, allow_blank=True)
    goals = GoalInput(many=True, required=False)


class VersionInput(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The plan's version you last read (or send If-Match).",
    )


class CarePlanCreateInput(serializers.Serializer):
    language = serializers.CharField(max_length=40, required=False, allow_blank=True)
    needs = NeedInput(many=True, required=False)


class CarePlanPutInput(VersionInput):
    language = serializers.CharField(max_length=40, required=False, allow_blank=True)
    needs = NeedInput(many=True)


class GoalPatchInput(serializers.Serializer):
    uid = serializers.UUIDField()
    description = serializers.CharField(max_length=2000, required=False)
    target_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(
        max_length=15, required=False, help_text=GOAL_STATUS_HELP
    )
    part2 = serializers.BooleanField(required=False)
    need_uid = serializers.UUIDField(
        required=False, allow_null=True, help_text="Move the goal to another need."
    )


class InterventionPatchInput(serializers.Serializer):
    uid = serializers.UUIDField()
    description = serializers.CharField(max_length=2000, required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.CharField(
        max_length=15, required=False, help_text=INTERVENTION_STATUS_HELP
    )


class CarePlanPatchInput(VersionInput):
    language = serializers.CharField(max_length=40, required=False, allow_blank=True)
    goals = GoalPatchInput(many=True, required=False)
    interventions = InterventionPatchInput(many=True, required=False)


class AgreeInput(VersionInput):
    member_agreed_on = serializers.DateField()


class CareTeamInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=CareTeamRole.choices)
    user_email = serializers.EmailField(
        required=False, help_text="A colleague (staff): their account's e-mail."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    organization_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    access_until = serializers.DateField(required=False, allow_null=True)


class CareConferenceInput(serializers.Serializer):
    most_recent_care_conference_date = serializers.DateField(
        help_text="The date the conference was held (RTF 21)."
    )
    attendees = serializers.CharField(max_length=2000)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
