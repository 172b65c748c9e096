"""The catalog in the admin, with a field-level history of every edit.

History: Django's LogEntry records *that* an administrator changed a row; the
`CatalogChange` rows written here record *which field, from what, to what*. That
is all an auditor needs of a few dozen reference rows, so django-simple-history
(a shadow table per model, middleware, its own admin) does not earn its place.
An edit also marks the row `edited_by_admin`, so `load_cs_catalog` keeps it.
"""

from django.contrib import admin
from django.forms.models import model_to_dict

from community_supports.models import (
    CatalogChange,
    CommunitySupport,
    PlanOffering,
    ProviderContract,
    ServiceCode,
    SupportLimit,
)
from community_supports.services import catalog_record_admin_change


class HistoryAdmin(admin.ModelAdmin):
    """Records the changed fields of each save; the loader's bookkeeping stays
    read-only."""

    readonly_fields = ["edited_by_admin", "content_hash", "updated_at"]
    object_history_template = "community_supports/admin/object_history.html"

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            before = model_to_dict(type(obj).objects.get(pk=obj.pk))
        else:
            obj.edited_by_admin = True  # an administrator's row: the loader keeps it
        super().save_model(request, obj, form, change)
        if change:
            catalog_record_admin_change(
                row=obj,
                changed_fields=form.changed_data,
                before=before,
                actor=request.user,
            )

    def history_view(self, request, object_id, extra_context=None):
        changes = CatalogChange.objects.filter(
            model=self.model.__name__, object_id=str(object_id)
        ).select_related("changed_by")
        extra_context = {**(extra_context or {}), "field_changes": changes}
        return super().history_view(request, object_id, extra_context)


class ServiceCodeInline(admin.TabularInline):
    model = ServiceCode
    extra = 0
    fields = [
        "hcpcs",
        "modifier",
        "modifier_2",
        "description",
        "unit",
        "effective_from",
        "effective_to",
        "edited_by_admin",
    ]
    readonly_fields = ["edited_by_admin"]
    show_change_link = True


class SupportLimitInline(admin.TabularInline):
    model = SupportLimit
    extra = 0
    fields = [
        "key",
        "kind",
        "quantity",
        "window_days",
        "weeks",
        "exception_allowed_once",
        "description",
        "edited_by_admin",
    ]
    readonly_fields = ["edited_by_admin"]
    show_change_link = True


@admin.register(CommunitySupport)
class CommunitySupportAdmin(HistoryAdmin):
    list_display = ["sort_order", "name", "code", "volume", "active", "edited_by_admin"]
    list_display_links = ["name"]
    search_fields = ["name", "code", "short_name"]
    inlines = [ServiceCodeInline, SupportLimitInline]

    def save_formset(self, request, form, formset, change):
        # Inline edits are field-level history too.
        befores = {
            obj.pk: model_to_dict(type(obj).objects.get(pk=obj.pk))
            for obj in formset.queryset
            if obj.pk
        }
        super().save_formset(request, form, formset, change)
        for obj, changed in formset.changed_objects:
            catalog_record_admin_change(
                row=obj,
                changed_fields=changed,
                before=befores.get(obj.pk, {}),
                actor=request.user,
            )


@admin.register(ServiceCode)
class ServiceCodeAdmin(HistoryAdmin):
    list_display = ["pair", "support", "unit", "effective_from", "effective_to"]
    list_filter = ["support", "unit"]
    search_fields = ["hcpcs", "modifier"]
    list_select_related = ["support"]


@admin.register(SupportLimit)
class SupportLimitAdmin(HistoryAdmin):
    list_display = ["support", "key", "kind", "quantity", "exception_allowed_once"]
    list_select_related = ["support"]


@admin.register(CatalogChange)
class CatalogChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "model", "object_id", "field", "changed_by"]
    list_filter = ["model"]
    readonly_fields = [f.name for f in CatalogChange._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlanOffering)
class PlanOfferingAdmin(admin.ModelAdmin):
    list_display = ["plan", "support", "county", "start_date", "end_date"]
    list_filter = ["plan", "support"]
    list_select_related = ["plan", "support", "county"]


@admin.register(ProviderContract)
class ProviderContractAdmin(admin.ModelAdmin):
    list_display = ["plan", "provider", "service", "status", "start_date", "end_date"]
    list_filter = ["service", "status", "plan"]
    list_select_related = ["plan", "provider"]
    filter_horizontal = ["supports", "counties"]
