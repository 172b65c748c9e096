"""Forms of the member pages: the search box and the chart's small record forms.

They only parse input. The rules (age group on the start date, go-live, dates in
order) live in members.services, whose ValidationError the views attach to the
form, so the API and the pages refuse the same things with the same words.
"""

from django import forms
from django.forms.boundfield import BoundField

from calaim.accounts.models import Organization
from members.models import (
    ConsentCategory,
    ConsentKind,
    MemberPopulation,
    OtherProgram,
)


class BootstrapBoundField(BoundField):
    """Bootstrap's red outline on a field with errors.

    Django (5.2) already sets aria-invalid and points aria-describedby at
    `<field id>_error`, the id members/_field.html gives the message.
    """

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors:
            widget = widget or self.field.widget
            classes = attrs.get("class", widget.attrs.get("class", ""))
            attrs["class"] = f"{classes} is-invalid".strip()
        return attrs


class BootstrapForm(forms.Form):
    bound_field_class = BootstrapBoundField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # The browser's date picker sends and expects ISO dates.
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MemberSearchForm(BootstrapForm):
    q = forms.CharField(
        label="CIN, BIC ID or name",
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    birth_date = forms.DateField(
        label="Date of birth (optional)", required=False, widget=DateInput()
    )

    def has_criteria(self) -> bool:
        return bool(self.cleaned_data.get("q") or self.cleaned_data.get("birth_date"))


class MemberPopulationForm(BootstrapForm):
    """A population of focus for a member.

    The select offers the populations of the member's age group today (what fits
    almost always), but any known population is accepted: whether it fits is
    decided by the service on the start date, and its message says why not.
    """

    # A CharField with a menu: the menu is the member's age group, while
    # clean_population accepts any population (see the class docstring).
    population = forms.CharField(label="Population of focus", widget=forms.Select())
    source = forms.ChoiceField(
        label="Source", choices=[("", "Choose…"), *MemberPopulation.Source.choices]
    )
    start_date = forms.DateField(label="Start date", widget=DateInput())
    end_date = forms.DateField(
        label="End date (optional)", required=False, widget=DateInput()
    )
    evidence = forms.CharField(
        label="Evidence (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, populations, age_group, **kwargs):
        kwargs.setdefault("auto_id", "pof_%s")
        super().__init__(*args, **kwargs)
        self.populations = {population.code: population for population in populations}
        offered = [
            (population.code, population.name)
            for population in populations
            if population.age_group == age_group and population.retired_on is None
        ]
        self.fields["population"].widget.choices = [("", "Choose…"), *offered]

    def clean_population(self):
        code = self.cleaned_data["population"]
        if code not in self.populations:
            raise forms.ValidationError("Choose a population of focus from the list.")
        return self.populations[code]


class OtherProgramForm(BootstrapForm):
    program = forms.ChoiceField(
        label="Program", choices=[("", "Choose…"), *OtherProgram.choices]
    )
    start_date = forms.DateField(label="Start date", widget=DateInput())
    end_date = forms.DateField(
        label="End date (optional)", required=False, widget=DateInput()
    )
    source = forms.CharField(
        label="Source (optional)",
        required=False,
        max_length=100,
        help_text="Where this came from, e.g. a plan report or the provider.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "program_%s")
        super().__init__(*args, **kwargs)


class ConsentForm(BootstrapForm):
    """A consent, an ASCMI form or an ASCMI revocation, with its evidence.

    Only parsing: members.services.consents.consent_record decides what a kind
    of consent needs (42 CFR 2.31's elements, the evidence) and says what is
    missing.
    """

    kind = forms.ChoiceField(
        label="Kind of consent", choices=[("", "Choose…"), *ConsentKind.choices]
    )
    scope_categories = forms.MultipleChoiceField(
        label="What may be shared",
        choices=ConsentCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="Leave empty on an ASCMI form where the member shares nothing.",
    )
    scope_text = forms.CharField(
        label="Scope, as written on the form (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    recipient_organizations = forms.ModelMultipleChoiceField(
        label="Recipient organizations",
        queryset=Organization.objects.only("id", "name").order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Hold Ctrl (or Cmd) to choose several.",
    )
    recipient_names = forms.CharField(
        label="Other named recipients (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, e.g. a person or a program not in the list.",
    )
    purpose = forms.CharField(
        label="Purpose",
        required=False,
        max_length=500,
        help_text="Required for a Part 2 consent, e.g. care coordination.",
    )
    start_date = forms.DateField(label="Start date", widget=DateInput())
    end_date = forms.DateField(label="End date", required=False, widget=DateInput())
    end_event = forms.CharField(
        label="Or the event that ends it",
        required=False,
        max_length=300,
        help_text="E.g. the end of ECM enrollment.",
    )
    document = forms.FileField(
        label="Signed form (PDF, PNG or JPEG)",
        required=False,
        allow_empty_file=True,  # the service says "The file is empty."
    )
    verbal_attestation = forms.BooleanField(
        label="I attest that the member gave this consent verbally",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    attestation_witness = forms.CharField(
        label="Witness (optional)", required=False, max_length=200
    )
    attestation_notes = forms.CharField(
        label="Notes on the verbal consent (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "consent_%s")
        super().__init__(*args, **kwargs)


class ConsentRevokeForm(BootstrapForm):
    reason = forms.CharField(
        label="Why is the consent revoked?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E.g. the member revoked it by phone on this date.",
    )


class ConsentEndForm(BootstrapForm):
    end_date = forms.DateField(label="The day the event happened", widget=DateInput())

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "end_%s")
        super().__init__(*args, **kwargs)
