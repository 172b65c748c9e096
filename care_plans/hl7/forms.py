"""The sender registry's form."""

import ipaddress

from django import forms

from calaim.accounts.models import Organization


def _lines(value: str) -> list[str]:
    return [
        item.strip() for item in value.replace(",", "\n").splitlines() if item.strip()
    ]


class SenderForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.filter(is_hospital=True),
        label="Hospital",
        to_field_name="uuid",
    )
    sending_facility = forms.CharField(
        label="Sending facility (MSH-4)",
        max_length=180,
        help_text="The MSH-4 namespace id, exactly as the hospital sends it.",
    )
    allowed_addresses = forms.CharField(
        label="MLLP source addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="IP addresses or CIDR networks, one per line. None: no MLLP.",
    )
    cin_assigning_authorities = forms.CharField(
        label="CIN assigning authorities (PID-3)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Assigning-authority ids whose PID-3 identifiers are CINs.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-check-input" if name == "active" else "form-control"
            if name == "organization":
                css = "form-select"
            field.widget.attrs.setdefault("class", css)

    def clean_sending_facility(self):
        value = self.cleaned_data["sending_facility"].strip()
        if any(char in value for char in "|^~\\&\r\n"):
            raise forms.ValidationError("An MSH-4 id has no HL7 separator characters.")
        return value

    def clean_allowed_addresses(self):
        addresses = _lines(self.cleaned_data["allowed_addresses"])
        for address in addresses:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise forms.ValidationError(
                    f"{address!r} is not an IP address or network."
                ) from None
        return addresses

    def clean_cin_assigning_authorities(self):
        return _lines(self.cleaned_data["cin_assigning_authorities"])

    @classmethod
    def initial_for(cls, sender) -> dict:
        return {
            "organization": sender.organization,
            "sending_facility": sender.sending_facility,
            "allowed_addresses": "\n".join(sender.allowed_addresses),
            "cin_assigning_authorities": "\n".join(sender.cin_assigning_authorities),
            "active": sender.active,
        }
