"""Forms of the plan administrator's ECM screens: identify, decide, assign, notices.

They parse input only. The rules (age group of the population of focus, dates in
order, a reason long enough, capacity, who may be lead care manager) live in
care_plans.services, whose ValidationError the views attach to these forms with
`add_service_errors`, so the pages and the API refuse the same things in the
same words.
"""

import calendar
from datetime import date

from django import forms
from django.db.models import Q
from django.forms.boundfield import BoundField
from django.utils import timezone

from care_plans.models import Episode
from members.models import PopulationOfFocus

# How long an authorization runs by default: six months from its first day.
DEFAULT_AUTHORIZATION_MONTHS = 6


class _BootstrapBoundField(BoundField):
    """Bootstrap's red outline on a field with errors (Django already sets
    aria-invalid and points aria-describedby at `<id>_error`)."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors:
            widget = widget or self.field.widget
            classes = attrs.get("class", widget.attrs.get("class", ""))
            attrs["class"] = f"{classes} is-invalid".strip()
        return attrs


class PlanForm(forms.Form):
    bound_field_class = _BootstrapBoundField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput | forms.RadioSelect):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)

    def add_service_errors(self, error) -> None:
        """Attach a service's ValidationError: each message to its field when the
        form has one, to the form as a whole otherwise (status, member, ...)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # The browser's date picker sends and expects ISO dates.
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class VersionedForm(PlanForm):
    """A decision on an episode carries the version the page was drawn from, so a
    decision made on a stale page is refused (409) instead of overwriting."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def populations_for(member, on: date):
    """The populations of focus of the member's age group that are live on `on`."""
    age_group = (
        PopulationOfFocus.AgeGroup.ADULT
        if member.is_adult_on(on)
        else PopulationOfFocus.AgeGroup.CHILD
    )
    return PopulationOfFocus.objects.filter(
        age_group=age_group, go_live_date__lte=on
    ).filter(Q(retired_on__isnull=True) | Q(retired_on__gt=on))


class IdentifyForm(PlanForm):
    source = forms.ChoiceField(label="Source", choices=Episode.Source.choices)
    population = forms.ModelChoiceField(
        label="Population of focus",
        queryset=PopulationOfFocus.objects.none(),
        required=False,
        empty_label="Not known yet",
        help_text="Only the populations for the member's age group today.",
    )
    urgency = forms.ChoiceField(
        label="Urgency",
        choices=Episode.Urgency.choices,
        initial=Episode.Urgency.STANDARD,
    )
    referrer_contact = forms.CharField(
        label="Referrer contact",
        required=False,
        max_length=200,
        help_text="Name and phone or e-mail of whoever referred the member; they "
        "are told of the decision.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, member, may_use_plan_data: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["population"].queryset = populations_for(
            member, timezone.localdate()
        )
        if not may_use_plan_data:
            # Only the plan identifies members from its own data.
            self.fields["source"].choices = [
                choice
                for choice in Episode.Source.choices
                if choice[0] != Episode.Source.PLAN_DATA
            ]


def _months_later(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_authorization_dates(today: date) -> tuple[date, date]:
    """From today through six months on, what the plan usually authorizes."""
    return today, _months_later(today, DEFAULT_AUTHORIZATION_MONTHS)


class AuthorizeForm(VersionedForm):
    authorization_number = forms.CharField(
        label="Authorization number", max_length=40, strip=True
    )
    authorized_from = forms.DateField(label="Authorized from", widget=DateInput())
    authorized_through = forms.DateField(label="Authorized through", widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("authorized_from"), cleaned.get("authorized_through")
        if start and end and end < start:
            self.add_error(
                "authorized_through", "The authorization ends before it starts."
            )
        return cleaned


class DenyForm(VersionedForm):
    reason = forms.CharField(
        label="Reason for the denial",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The member's notice of action quotes it; write it for them.",
    )


class AssignForm(VersionedForm):
    """Step 2 of the assignment: the provider chosen in step 1 and a lead care
    manager among its care managers (both limited by the view)."""

    provider = forms.UUIDField(widget=forms.HiddenInput)
    lead_care_manager = forms.ModelChoiceField(
        label="Lead care manager",
        queryset=None,
        to_field_name="uuid",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a lead care manager."},
    )

    def __init__(self, *args, care_managers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_care_manager"].queryset = care_managers


class MarkSentForm(PlanForm):
    method = forms.ChoiceField(
        label="Sent by",
        choices=[
            ("mail", "Mail"),
            ("email", "E-mail"),
            ("in_person", "In person"),
            ("portal", "Member portal"),
        ],
    )
