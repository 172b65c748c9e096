from django.contrib import admin

from calaim.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the table refuses changes anyway."""

    list_display = ["occurred_at", "actor_label", "action", "object_type", "path"]
    list_filter = ["action"]
    search_fields = ["actor_label", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
