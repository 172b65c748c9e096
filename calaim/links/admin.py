from django.contrib import admin

from calaim.links.models import ActionLink


@admin.register(ActionLink)
class ActionLinkAdmin(admin.ModelAdmin):
    """Read-only: links are issued and used by services, never edited."""

    list_display = ["created_at", "action", "object_id", "recipient_email", "used_at"]
    list_filter = ["action"]
    readonly_fields = [field.name for field in ActionLink._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
