"""Forms of the network pages: they parse input; the services hold the rules."""

from django import forms
from django.db.models import Q

from calaim.accounts.models import County, Organization
from community_supports.models import CommunitySupport, ProviderContract


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class NetworkForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date is before the start date.")
        return data

    def add_service_errors(self, error) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


def _supports():
    return CommunitySupport.objects.filter(active=True).order_by("sort_order")


class OfferingForm(NetworkForm):
    support = forms.ModelChoiceField(queryset=_supports(), to_field_name="code")
    county = forms.ModelChoiceField(queryset=County.objects.order_by("name"))
    start_date = forms.DateField(widget=DateInput)
    end_date = forms.DateField(widget=DateInput, required=False)


class OfferingDatesForm(NetworkForm):
    start_date = forms.DateField(widget=DateInput)
    end_date = forms.DateField(widget=DateInput, required=False)


class ContractForm(NetworkForm):
    provider = forms.ModelChoiceField(
        queryset=Organization.objects.filter(
            Q(is_ecm_provider=True) | Q(is_cs_provider=True)
        ).order_by("name"),
        to_field_name="uuid",
    )
    service = forms.ChoiceField(choices=ProviderContract.Service.choices)
    supports = forms.ModelMultipleChoiceField(
        queryset=_supports(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For a Community Supports contract: the supports it covers.",
    )
    counties = forms.ModelMultipleChoiceField(
        queryset=County.objects.order_by("name"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    start_date = forms.DateField(widget=DateInput)
    end_date = forms.DateField(widget=DateInput, required=False)
    rate_per_unit = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    capacity = forms.IntegerField(
        min_value=0, required=False, help_text="Empty: no cap."
    )
    capacity_unit = forms.ChoiceField(choices=ProviderContract.CapacityUnit.choices)
    status = forms.ChoiceField(choices=ProviderContract.Status.choices)
    may_presumptively_authorize = forms.BooleanField(required=False)

    VALUES = (
        "provider",
        "service",
        "start_date",
        "end_date",
        "rate_per_unit",
        "capacity",
        "capacity_unit",
        "status",
        "may_presumptively_authorize",
    )

    @classmethod
    def initial_from(cls, contract: ProviderContract) -> dict:
        initial = {name: getattr(contract, name) for name in cls.VALUES}
        initial["provider"] = contract.provider.uuid
        initial["supports"] = [s.code for s in contract.supports.all()]
        initial["counties"] = list(contract.counties.all())
        return initial

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.VALUES}
