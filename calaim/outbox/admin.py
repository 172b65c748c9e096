from django.contrib import admin
from django.utils import timezone

from calaim.outbox.models import OutboxMessage, OutboxStatus


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Watch the outbox; give failed messages another round once fixed."""

    list_display = ["id", "kind", "status", "attempts", "created_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["key"]
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected failed messages")
    def retry(self, request, queryset):
        count = queryset.filter(status=OutboxStatus.FAILED).update(
            status=OutboxStatus.PENDING,
            attempts=0,
            available_at=timezone.now(),
            enqueued_at=None,
        )
        self.message_user(request, f"{count} message(s) will be sent by the sweep.")
