"""The ECM provider API's serializers: explicit input (plain Serializers) and
output, so it is plain which member fields leave the building."""

from rest_framework import serializers

from care_plans import rtf
from care_plans.models import (
    DiscontinuationReason,
    EncounterMode,
    EpisodeStatus,
    OutreachAttempt,
    OutreachMethod,
)

# --- Output ---------------------------------------------------------------------


class EpisodeOutput(serializers.Serializer):
    """An episode: our ids and status, the MIF-like member fields, and the RTF
    projection under the DHCS field names (read-only: change it through the
    actions)."""

    id = serializers.UUIDField(help_text="The episode's id.")
    version = serializers.IntegerField(
        help_text="Send it back (or as If-Match) with an action on this episode."
    )
    status = serializers.ChoiceField(
        choices=EpisodeStatus.choices,
        help_text="Our status; `ecm_status` is the RTF's word for it.",
    )
    updated_at = serializers.DateTimeField(
        help_text="Latest change to the episode, the member or its encounters "
        "(what `updated_since` compares with)."
    )
    member_id = serializers.UUIDField()
    primary_payer_id = serializers.CharField(
        allow_null=True,
        help_text="RTF 1: the DHCS plan code of the plan in the county of the "
        "member's enrollment with it.",
    )
    mcp_name = serializers.CharField(allow_null=True, help_text="RTF 2")
    cin = serializers.CharField(help_text="RTF 3")
    last_name = serializers.CharField(help_text="RTF 4")
    first_name = serializers.CharField(help_text="RTF 5")
    middle_name = serializers.CharField()
    birth_date = serializers.DateField()
    preferred_language = serializers.CharField()
    homelessness_indicator = serializers.BooleanField(help_text="RTF 7")
    residential_address = serializers.CharField(help_text="RTF 8")
    residential_address_2 = serializers.CharField()
    residential_city = serializers.CharField(help_text="RTF 9")
    residential_state = serializers.CharField(help_text="RTF 10")
    residential_zip = serializers.CharField(help_text="RTF 11")
    phone = serializers.CharField(help_text="RTF 13")
    pof = serializers.CharField(
        allow_null=True,
        help_text="RTF 15: the population of focus the episode was opened for.",
    )
    populations_of_focus = serializers.ListField(
        child=serializers.CharField(),
        help_text="Every population of focus the member is in now (codes).",
    )
    ecm_status = serializers.ChoiceField(
        choices=sorted(set(rtf.ECM_STATUS.values())),
        help_text="RTF 16. The DHCS value list is not confirmed; see rtf.py.",
    )
    ecm_enrollment_start_date = serializers.DateField(
        allow_null=True, help_text="RTF 18: the date the member consented."
    )
    ecm_enrollment_end_date = serializers.DateField(allow_null=True, help_text="RTF 19")
    latest_care_plan_revision_date = serializers.DateField(
        allow_null=True,
        help_text="RTF 20: the date the member agreed the latest care plan version.",
    )
    most_recent_care_conference_date = serializers.DateField(
        allow_null=True, help_text="RTF 21"
    )
    assessment_started_date = serializers.DateField(
        allow_null=True, help_text="RTF 22: the latest assessment's start."
    )
    most_recent_completed_assessment_date = serializers.DateField(
        allow_null=True, help_text="RTF 23"
    )
    most_recent_encounter_date = serializers.DateField(
        allow_null=True, help_text="RTF 24"
    )
    lead_care_manager_name = serializers.CharField(allow_null=True, help_text="RTF 25")
    lead_care_manager_phone = serializers.CharField(allow_null=True, help_text="RTF 26")
    lead_care_manager_email = serializers.CharField(allow_null=True, help_text="RTF 27")
    discontinuation_date = serializers.DateField(allow_null=True, help_text="RTF 28")
    discontinuation_reason_code = serializers.CharField(
        allow_null=True,
        help_text="RTF 29: the DHCS code (mapping unconfirmed; see models.py).",
    )
    discontinuation_reason = serializers.CharField(allow_null=True, help_text="RTF 30")
    discontinuation_note = serializers.CharField(allow_null=True)
    in_person_encounter_count = serializers.IntegerField(
        help_text="RTF 31, over the whole episode."
    )
    telephonic_video_encounter_count = serializers.IntegerField(
        help_text="RTF 32, over the whole episode."
    )
    ecm_provider_name = serializers.CharField(allow_null=True, help_text="RTF 35")
    ecm_provider_npi = serializers.CharField(allow_null=True, help_text="RTF 36")
    ecm_provider_tin = serializers.CharField(allow_null=True, help_text="RTF 37")
    ecm_provider_phone = serializers.CharField(allow_null=True, help_text="RTF 38")

    def to_representation(self, instance):
        return super().to_representation(rtf.episode_row(instance))


class OutreachOutput(serializers.Serializer):
    id = serializers.UUIDField()
    episode_id = serializers.UUIDField()
    episode_status = serializers.CharField(
        help_text="The episode's status after the attempt (the first attempt "
        "moves an assigned episode into outreach).",
    )
    episode_version = serializers.IntegerField(
        help_text="The episode's version after the attempt: send it with the next "
        "action."
    )
    outreach_date = serializers.DateTimeField()
    outreach_method = serializers.ChoiceField(choices=OutreachMethod.choices)
    otf_outreach_method = serializers.CharField(
        help_text="The OTF's bucket: In-Person or Telephonic."
    )
    outreach_successful = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=OutreachAttempt.Outcome.choices)
    outreach_minutes = serializers.IntegerField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()

    def to_representation(self, instance):
        return super().to_representation(rtf.outreach_row(instance))


class EncounterOutput(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    episode_id = serializers.UUIDField(source="episode.uuid")
    encounter_date = serializers.DateField(source="occurred_on")
    mode = serializers.ChoiceField(choices=EncounterMode.choices)
    minutes = serializers.IntegerField()
    hcpcs_code = serializers.CharField()
    modifiers = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class ErrorOutput(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorsOutput(serializers.Serializer):
    errors = ErrorOutput(many=True)


# --- Input ----------------------------------------------------------------------


class VersionedInput(serializers.Serializer):
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The episode's version you last read. Required unless an "
        "If-Match header carries it.",
    )


class OutreachInput(serializers.Serializer):
    outreach_date = serializers.DateTimeField(
        help_text="When the attempt was made (ISO 8601, with a UTC offset)."
    )
    outreach_method = serializers.ChoiceField(
        choices=OutreachMethod.choices,
        help_text="Our method; the OTF bucket (In-Person / Telephonic) follows.",
    )
    outreach_successful = serializers.BooleanField(
        required=False,
        help_text="OTF: did the attempt reach the member? true means outcome "
        "`reached`, false `other` unless `outcome` says more.",
    )
    outcome = serializers.ChoiceField(
        choices=OutreachAttempt.Outcome.choices,
        required=False,
        help_text="Optional detail; must agree with outreach_successful.",
    )
    outreach_minutes = serializers.IntegerField(help_text="OTF: time spent, 0-600.")
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, data):
        reached = OutreachAttempt.Outcome.REACHED
        successful = data.get("outreach_successful")
        outcome = data.get("outcome")
        if outcome is None and successful is None:
            raise serializers.ValidationError(
                {
                    "outreach_successful": serializers.ErrorDetail(
                        "Say whether the attempt reached the member "
                        "(outreach_successful or outcome).",
                        code="required",
                    )
                }
            )
        if outcome is None:
            data["outcome"] = reached if successful else OutreachAttempt.Outcome.OTHER
        elif successful is not None and successful != (outcome == reached):
            raise serializers.ValidationError(
                {
                    "outcome": serializers.ErrorDetail(
                        "The outcome disagrees with outreach_successful.",
                        code="inconsistent",
                    )
                }
            )
        return data


class EnrollInput(VersionedInput):
    consent_date = serializers.DateField(help_text="The day the member consented.")
    consent_method = serializers.ChoiceField(
        choices=[
            ("verbal", "Verbal"),
            ("written", "Written"),
            ("electronic", "Electronic"),
        ]
    )


class DeclineInput(VersionedInput):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )


class DiscontinueInput(VersionedInput):
    discontinuation_reason = serializers.ChoiceField(
        choices=DiscontinuationReason.choices,
        help_text="Our reason; the answer carries its DHCS code "
        "(discontinuation_reason_code).",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Required when the reason is `other`.",
    )
    discontinuation_date = serializers.DateField(
        required=False, help_text="Defaults to today."
    )


class EncounterInput(serializers.Serializer):
    encounter_date = serializers.DateField()
    mode = serializers.ChoiceField(choices=EncounterMode.choices)
    minutes = serializers.IntegerField(help_text="1-600.")
    clinical = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Given by clinical staff: G9008-U1 rather than G9012-U2 when "
        "no hcpcs_code is sent.",
    )
    hcpcs_code = serializers.CharField(
        required=False,
        max_length=5,
        help_text="G9008 or G9012; derived from mode and clinical when left out.",
    )
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2),
        required=False,
        help_text="With hcpcs_code: U1 or U2, plus GQ when not in person.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
