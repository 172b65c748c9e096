"""Forms of the referral pages. They only parse input; the rules live in
referrals.services, whose ValidationError the views attach field by field."""

from django import forms
from django.utils import timezone

from community_supports.models import CommunitySupport, PlanOffering
from members.forms import BootstrapForm, DateInput
from referrals.models import Referral


class VersionForm(BootstrapForm):
    """A status change carries the version the page showed (409 when stale)."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReasonForm(VersionForm):
    reason = forms.CharField(
        label="Reason", max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteForm(VersionForm):
    note = forms.CharField(
        label="Closing note (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReferralForm(BootstrapForm):
    """A care manager's referral: the support (among those the member's plan
    offers in the member's county today), urgency, what is asked for."""

    support = forms.ModelChoiceField(
        queryset=CommunitySupport.objects.none(), label="Community Support"
    )
    urgency = forms.ChoiceField(choices=Referral.Urgency.choices, label="Urgency")
    preferred_provider = forms.UUIDField(
        required=False, widget=forms.HiddenInput, label="Preferred provider"
    )
    requested_units = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label="Units"
    )
    requested_amount = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2,
        label="Amount ($)",
    )  # fmt: skip
    requested_start = forms.DateField(required=False, widget=DateInput, label="From")
    requested_end = forms.DateField(required=False, widget=DateInput, label="Through")
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="What the member needs",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # The care plan's goal the referral serves (its need follows from the goal).
    # The form only parses a uid: whether it is on the plan is the service's
    # rule (unknown_goal).
    goal_uid = forms.UUIDField(
        required=False, widget=forms.Select, label="Care-plan goal this serves"
    )

    def __init__(self, *args, span=None, goals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["goal_uid"].widget.choices = [("", "No goal named")] + [
            (str(goal.uid), f"{goal.description} — {goal.need.description}")
            for goal in goals
        ]
        today = timezone.localdate()
        if span is not None:
            offered = PlanOffering.objects.filter(
                plan_id=span.plan_id, county_id=span.county_id, start_date__lte=today
            ).exclude(end_date__lt=today)
            self.fields["support"].queryset = CommunitySupport.objects.filter(
                active=True, offerings__in=offered
            ).distinct()


class AuthorizeForm(VersionForm):
    decision = forms.ChoiceField(
        choices=[
            ("approved", "Approve"),
            ("modified", "Approve as modified"),
            ("pended", "Pend (information needed)"),
            ("denied", "Deny"),
        ]
    )
    authorization_number = forms.CharField(required=False, max_length=40)
    approved_units = forms.DecimalField(
        required=False, max_digits=10, decimal_places=2, label="Approved units"
    )
    approved_amount = forms.DecimalField(
        required=False, max_digits=10, decimal_places=2, label="Approved amount ($)"
    )
    approved_from = forms.DateField(required=False, widget=DateInput, label="From")
    approved_through = forms.DateField(
        required=False, widget=DateInput, label="Through"
    )
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Reason (required to modify, pend or deny)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    limit_exception_reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Limit exception: why (only when a limit is exceeded)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DeliveryForm(BootstrapForm):
    delivered_on = forms.DateField(widget=DateInput, label="Date of service")
    code = forms.ChoiceField(label="HCPCS code and modifier")
    units = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2)
    amount = forms.DecimalField(
        required=False, min_value=0, max_digits=10, decimal_places=2, label="Amount ($)"
    )
    stay_id = forms.CharField(required=False, max_length=40, label="Stay (optional)")
    note = forms.CharField(
        required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, referral=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        if referral is not None and referral.support_id:
            for code in referral.support.service_codes.order_by("hcpcs", "modifier"):
                value = f"{code.hcpcs}-{code.modifier}"
                choices.append((value, f"{code.pair} {code.description}".strip()))
        self.fields["code"].choices = choices

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        hcpcs, _, modifier = data.pop("code").partition("-")
        data.update(hcpcs=hcpcs, modifier=modifier)
        data["amount"] = data.get("amount") or 0
        return data
