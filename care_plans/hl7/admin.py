"""The HL7 intake in the Django admin: senders editable, messages read-only.

A message's raw text is PHI and is shown only on the audited feed page
(/hl7/messages/<uuid>/), never here.
"""

from django.contrib import admin

from care_plans.hl7.models import HL7Sender, InboundMessage


@admin.register(HL7Sender)
class HL7SenderAdmin(admin.ModelAdmin):
    list_display = ["sending_facility", "organization", "plan", "active", "updated_at"]
    list_filter = ["active", "plan"]
    search_fields = ["sending_facility", "organization__name"]
    readonly_fields = ["uuid", "created_at", "updated_at"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "sending_facility",
        "control_id",
        "message_type",
        "trigger",
        "channel",
        "ack_code",
        "status",
        "attempts",
    ]
    list_filter = ["status", "ack_code", "channel", "message_type"]
    search_fields = ["sending_facility", "control_id"]
    exclude = ["raw"]
    readonly_fields = [
        field.name for field in InboundMessage._meta.fields if field.name != "raw"
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
