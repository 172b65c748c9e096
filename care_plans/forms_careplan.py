"""Forms of the care plan and care team pages. They parse input only; the
services hold the rules. Every plan form carries the plan version it was drawn
from (`version`), so a stale save is caught."""

from django import forms
from django.utils import timezone

from calaim.accounts import roles
from calaim.accounts.models import User
from care_plans.models import (
    STAFF_TEAM_ROLES,
    CareTeamMember,
    CareTeamRole,
    GoalStatus,
    Intervention,
    InterventionStatus,
    NeedDomain,
)
from members.forms import BootstrapForm, DateInput


class Form(BootstrapForm):
    """Bootstrap classes on every widget; check boxes get theirs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs.pop("class", None)


class VersionedForm(Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StartCarePlanForm(Form):
    """Start a plan: tick the assessment's suggested needs to begin with."""

    language = forms.CharField(required=False, max_length=40)
    suggested = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Suggested needs from the assessment",
    )

    def __init__(self, *args, suggestions=(), member=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.suggestions = list(suggestions)
        self.fields["suggested"].choices = [
            (str(index), f"{item.get('domain', '').title()}: {item['description']}")
            for index, item in enumerate(self.suggestions)
        ]
        self.fields["suggested"].initial = [
            str(index) for index in range(len(self.suggestions))
        ]
        if member is not None:
            self.fields["language"].initial = member.preferred_language

    def needs(self) -> list[dict]:
        chosen = {int(index) for index in self.cleaned_data["suggested"]}
        return [
            {
                "domain": item.get("domain"),
                "description": item.get("description"),
                "source": "suggested",
                "question": item.get("question", ""),
            }
            for index, item in enumerate(self.suggestions)
            if index in chosen
        ]


class NeedForm(VersionedForm):
    domain = forms.ChoiceField(choices=NeedDomain.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class GoalForm(VersionedForm):
    need = forms.UUIDField(widget=forms.HiddenInput)
    description = forms.CharField(
        label="Goal, in the member's own words",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    target_date = forms.DateField(required=False, widget=DateInput())
    status = forms.ChoiceField(
        choices=GoalStatus.choices, initial="not_started", required=False
    )
    part2 = forms.BooleanField(required=False, label="Substance use (42 CFR Part 2)")


class GoalStatusForm(VersionedForm):
    status = forms.ChoiceField(choices=GoalStatus.choices)


class InterventionForm(VersionedForm):
    goal = forms.UUIDField(widget=forms.HiddenInput)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    responsible = forms.ChoiceField(
        choices=Intervention.Responsible.choices, initial="staff"
    )
    responsible_user = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Staff member"
    )
    responsible_contact = forms.ModelChoiceField(
        queryset=CareTeamMember.objects.none(),
        required=False,
        to_field_name="uuid",
        label="Care-team contact",
    )
    due_date = forms.DateField(required=False, widget=DateInput())
    status = forms.ChoiceField(
        choices=InterventionStatus.choices, initial="planned", required=False
    )

    def __init__(self, *args, care_plan=None, staff=None, contacts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if care_plan is not None:
            episode = care_plan.episode
            self.fields["responsible_user"].queryset = (
                staff
                if staff is not None
                else User.objects.filter(
                    organization_id=episode.ecm_provider_id,
                    is_active=True,
                    is_service_account=False,
                ).order_by("full_name")
            )
            self.fields["responsible_contact"].queryset = (
                contacts
                if contacts is not None
                else CareTeamMember.objects.filter(
                    member_id=care_plan.member_id, removed_at__isnull=True
                )
            )


class RemoveForm(VersionedForm):
    kind = forms.ChoiceField(
        choices=[("need", "need"), ("goal", "goal"), ("intervention", "intervention")]
    )
    uid = forms.UUIDField()


class AgreeForm(VersionedForm):
    member_agreed_on = forms.DateField(
        label="Date the member agreed", widget=DateInput(), initial=timezone.localdate
    )


class CareTeamStaffForm(Form):
    kind = forms.CharField(widget=forms.HiddenInput, initial="staff")
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Colleague")
    role = forms.ChoiceField(
        choices=[
            (v, label) for v, label in CareTeamRole.choices if v in STAFF_TEAM_ROLES
        ]
    )
    until = forms.DateField(
        required=False,
        widget=DateInput(),
        label="Access until",
        help_text="Empty: until the ECM authorization ends.",
    )

    def __init__(self, *args, episode=None, **kwargs):
        super().__init__(*args, **kwargs)
        if episode is not None:
            self.fields["user"].queryset = (
                User.objects.filter(
                    organization_id=episode.ecm_provider_id,
                    is_active=True,
                    is_service_account=False,
                    groups__name__in=[roles.CARE_MANAGER, roles.SUPERVISOR],
                )
                .exclude(pk=episode.lead_care_manager_id)
                .distinct()
                .order_by("full_name")
            )


class CareTeamContactForm(Form):
    kind = forms.CharField(widget=forms.HiddenInput, initial="contact")
    role = forms.ChoiceField(
        choices=[
            (v, label) for v, label in CareTeamRole.choices if v not in STAFF_TEAM_ROLES
        ]
    )
    name = forms.CharField(max_length=200)
    organization_name = forms.CharField(
        max_length=200, required=False, label="Organization"
    )
    phone = forms.CharField(max_length=30, required=False)
    email = forms.EmailField(required=False)


class CareConferenceForm(Form):
    held_on = forms.DateField(
        widget=DateInput(), label="Date", initial=timezone.localdate
    )
    attendees = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
