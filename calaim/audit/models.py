"""The append-only audit trail (HIPAA 164.312(b))."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    EXPORT = "export", "Exported"
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    LOGOUT = "logout", "Signed out"
    GRANT = "grant", "Granted access"
    BREAK_GLASS = "break_glass", "Break-glass access"


class AuditEvent(models.Model):
    """One request or system action: who did what to which members, from where.

    Plain ids, no foreign keys, so nothing can cascade into it. The database refuses
    UPDATE and DELETE on this table (trigger in migration 0002); TRUNCATE stays
    possible for test flushes.
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    # The e-mail the actor signed in with (staff, not PHI); for failed sign-ins the
    # address that was tried.
    actor_label = models.CharField(max_length=254, blank=True, default="")
    organization_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=60, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    member_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    reason = models.CharField(max_length=500, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    method = models.CharField(max_length=10, blank=True, default="")
    path = models.CharField(max_length=300, blank=True, default="")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            GinIndex(fields=["member_ids"], name="audit_member_ids_gin"),
            models.Index(fields=["actor_id", "-occurred_at"], name="audit_actor_time"),
            models.Index(
                fields=["organization_id", "-occurred_at"], name="audit_org_time"
            ),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"
