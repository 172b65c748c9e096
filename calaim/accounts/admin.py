from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from calaim.accounts.models import ApiClient, County, Organization, PlanCode, User


class PlanCodeInline(admin.TabularInline):
    model = PlanCode
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_plan",
        "is_ecm_provider",
        "is_cs_provider",
        "is_hospital",
        "npi",
    ]
    list_filter = ["is_plan", "is_ecm_provider", "is_cs_provider", "is_hospital"]
    search_fields = ["name", "npi"]
    filter_horizontal = ["counties"]
    inlines = [PlanCodeInline]


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "fips"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "organization",
        "is_service_account",
        "is_active",
    ]
    list_filter = ["is_active", "is_service_account", "groups", "organization"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Person",
            {"fields": ["full_name", "phone", "organization", "is_service_account"]},
        ),
        ("Roles", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "full_name",
                    "organization",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]
    filter_horizontal = ["groups"]


# django-oauth-toolkit registers its own admin for the application model.
admin.site.unregister(ApiClient)


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "user", "allowed_scopes"]
    search_fields = ["name", "client_id"]
