"""Forms of the care manager's ECM screens: the caseload filters and the chart's
episode actions.

They only parse input. The rules (which status allows what, dates in order, the
outreach rule, who may be lead care manager) live in care_plans.services, whose
ValidationError the views attach to these forms field by field, so the API and
the pages refuse the same things with the same words. Forms of status changes
carry the episode's version in a hidden field, handed to the service as
`expected_version`: a form loaded before someone else's change is refused (409)
instead of silently overwriting it.
"""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from calaim.accounts import roles
from care_plans.models import (
    DHCS_DISCONTINUATION_CODES,
    DiscontinuationReason,
    EncounterMode,
    EpisodeStatus,
    OutreachAttempt,
    OutreachMethod,
)
from members.forms import BootstrapForm, DateInput
from members.models import PopulationOfFocus

CONSENT_METHODS = [
    ("verbal", "Verbal"),
    ("written", "Written"),
    ("electronic", "Electronic"),
]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        # The browser's picker sends and expects "YYYY-MM-DDTHH:MM".
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class CaseloadFilterForm(BootstrapForm):
    """The caseload's filters (GET). Unknown values are dropped, never an error."""

    q = forms.CharField(
        label="Name or CIN",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any status"),
            *[
                (value, label)
                for value, label in EpisodeStatus.choices
                if value
                in (
                    EpisodeStatus.ASSIGNED,
                    EpisodeStatus.OUTREACH,
                    EpisodeStatus.ENROLLED,
                    EpisodeStatus.ACTIVE,
                    EpisodeStatus.AUTHORIZED,
                )
            ],
        ],
    )
    population = forms.ChoiceField(label="Population of focus", required=False)
    needs_outreach = forms.BooleanField(label="Needs outreach", required=False)
    lead = forms.ChoiceField(label="Lead care manager", required=False)

    def __init__(self, *args, care_managers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["population"].choices = [
            ("", "Any population"),
            *[
                (population.code, population.name)
                for population in PopulationOfFocus.objects.order_by(
                    "age_group", "sort_order"
                )
            ],
        ]
        self.fields["needs_outreach"].widget.attrs["class"] = "form-check-input"
        if care_managers is None:
            del self.fields["lead"]
        else:
            self.fields["lead"].choices = [
                ("", "Everyone"),
                *[(str(user.pk), user.full_name) for user in care_managers],
            ]

    def filters(self) -> dict:
        """The selector's keyword arguments (empty when the input is invalid)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        lead = data.get("lead") or ""
        return {
            "status": data["status"],
            "population": data["population"],
            "needs_outreach": data["needs_outreach"],
            "search": data["q"],
            "lead_care_manager_id": int(lead) if lead.isdigit() else None,
        }


class EpisodeForm(BootstrapForm):
    """A form about one episode. The chart shows several at once, so each kind
    has its own id prefix (`id_prefix`): labels stay tied to their own field and
    ids stay unique on the page, while field names stay plain."""

    id_prefix = "episode"

    def __init__(self, *args, episode=None, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        self.episode = episode


class VersionedForm(EpisodeForm):
    """A status change: carries the episode version it was drawn from."""

    expected_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": "The form lacks the episode's version: open the chart "
            "again and retry.",
            "invalid": "The form's episode version is not valid: open the chart "
            "again and retry.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.episode is not None:
            self.fields["expected_version"].initial = self.episode.version


class OutreachForm(EpisodeForm):
    """An outreach attempt, in the Outreach Tracker File's terms.

    No version: an attempt adds a row and never overwrites anyone's change.
    """

    id_prefix = "outreach"

    attempted_at = forms.DateTimeField(label="Date and time", widget=DateTimeInput())
    method = forms.ChoiceField(
        label="Method", choices=[("", "Choose…"), *OutreachMethod.choices]
    )
    outcome = forms.ChoiceField(
        label="Outcome", choices=[("", "Choose…"), *OutreachAttempt.Outcome.choices]
    )
    minutes = forms.IntegerField(label="Minutes", min_value=0, max_value=600)
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attempted_at"].initial = timezone.localtime().replace(
            second=0, microsecond=0
        )


class EnrollForm(VersionedForm):
    id_prefix = "enroll"

    consented_on = forms.DateField(label="Consent date", widget=DateInput())
    consent_method = forms.ChoiceField(
        label="Consent given", choices=[("", "Choose…"), *CONSENT_METHODS]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consented_on"].initial = timezone.localdate()


class DeclineForm(VersionedForm):
    id_prefix = "decline"

    reason = forms.CharField(
        label="What the member said (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class UnableToReachForm(VersionedForm):
    """Nothing to fill in: the outreach rule decides, in the service."""

    id_prefix = "unable"


class EncounterForm(EpisodeForm):
    """An ECM encounter; the code follows from mode and staff type
    (G9008-U1 clinical, G9012-U2 non-clinical, GQ when not in person)."""

    id_prefix = "encounter"

    occurred_on = forms.DateField(label="Date", widget=DateInput())
    mode = forms.ChoiceField(
        label="Mode", choices=[("", "Choose…"), *EncounterMode.choices]
    )
    minutes = forms.IntegerField(label="Minutes", min_value=1, max_value=600)
    staff_type = forms.ChoiceField(
        label="Delivered by",
        choices=[
            ("non_clinical", "Non-clinical staff (G9012-U2)"),
            ("clinical", "Clinical staff (G9008-U1)"),
        ],
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_on"].initial = timezone.localdate()


class DiscontinueForm(VersionedForm):
    id_prefix = "discontinue"

    reason = forms.ChoiceField(label="Reason (DHCS code)")
    note = forms.CharField(
        label="Note (required for “Other”)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    on = forms.DateField(
        label="Effective date", required=False, widget=DateInput(), help_text=""
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [
            ("", "Choose…"),
            *[
                (value, f"{label} ({DHCS_DISCONTINUATION_CODES[value]})")
                for value, label in DiscontinuationReason.choices
            ],
        ]
        self.fields["on"].initial = timezone.localdate()


def provider_care_managers(episode, *, exclude=None):
    """The active care managers of the episode's ECM provider (a form's menu)."""
    users = get_user_model().objects.filter(
        organization_id=episode.ecm_provider_id,
        is_active=True,
        is_service_account=False,
        groups__name=roles.CARE_MANAGER,
    )
    if exclude is not None:
        users = users.exclude(pk=exclude)
    return users.order_by("full_name", "pk")


class ReassignForm(VersionedForm):
    id_prefix = "reassign"

    lead_care_manager = forms.ModelChoiceField(
        label="New lead care manager",
        queryset=get_user_model().objects.none(),
        empty_label="Choose…",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.episode is not None:
            self.fields["lead_care_manager"].queryset = provider_care_managers(
                self.episode, exclude=self.episode.lead_care_manager_id
            )


class CoverForm(EpisodeForm):
    """A covering care manager for a period: an explicit, expiring grant."""

    id_prefix = "cover"

    # The grant service's field names, for its errors.
    service_fields = {"user": "care_manager", "expires_at": "until"}

    care_manager = forms.ModelChoiceField(
        label="Covering care manager",
        queryset=get_user_model().objects.none(),
        empty_label="Choose…",
    )
    until = forms.DateField(
        label="Covers through",
        widget=DateInput(),
        help_text="Access ends at the end of this day (at most 90 days).",
    )
    reason = forms.CharField(
        label="Reason for the cover",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. lead on leave"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["until"].initial = timezone.localdate() + timedelta(days=7)
        if self.episode is not None:
            self.fields["care_manager"].queryset = provider_care_managers(
                self.episode, exclude=self.episode.lead_care_manager_id
            )
