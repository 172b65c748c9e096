"""Assessment templates in the Django admin: the data a plan administrator adds
without code. Every change goes through the template services, so the JSON
schema and the semantic checks apply here exactly as elsewhere, and a published
version can only be read (its next version is a draft copy made by an action).

Assessments themselves are PHI with Part 2 content and are not in the admin.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html

from care_plans.assessments import definition as rules
from care_plans.assessments import services
from care_plans.assessments.models import AssessmentTemplate


class TemplateForm(forms.ModelForm):
    class Meta:
        model = AssessmentTemplate
        fields = ["code", "name", "definition"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "code" in self.fields:
            # A new version of a code is made with the action, not by renaming.
            self.fields["code"].disabled = True


@admin.register(AssessmentTemplate)
class AssessmentTemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ["name", "code", "version", "status", "published_at"]
    list_filter = ["status", "code"]
    readonly_fields = ["version", "status", "published_at", "retired_at", "schema"]
    actions = ["publish", "new_version", "retire"]

    @admin.display(description="JSON schema of the definition")
    def schema(self, obj):
        return format_html(
            "<details><summary>Show</summary><pre>{}</pre></details>",
            json.dumps(rules.SCHEMA, indent=2),
        )

    def has_change_permission(self, request, obj=None):
        # A published or retired version is shown read-only.
        if obj is not None and not obj.is_draft:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                saved = services.template_update_draft(
                    template=obj,
                    name=data["name"],
                    definition=data["definition"],
                    actor=request.user,
                )
            else:
                saved = services.template_create(
                    code=data["code"],
                    name=data["name"],
                    definition=data["definition"],
                    actor=request.user,
                )
        except (ValidationError, PermissionDenied) as error:
            # The form's clean already ran the model's checks; this is a race.
            raise PermissionDenied(" ".join(getattr(error, "messages", []))) from error
        obj.pk = saved.pk
        obj.refresh_from_db()

    def _each(self, request, queryset, service, done: str):
        count = 0
        for template in queryset:
            try:
                service(template=template, actor=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request,
                    f"{template}: {' '.join(getattr(error, 'messages', [str(error)]))}",
                    messages.ERROR,
                )
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} template(s) {done}.")

    @admin.action(
        description="Publish the selected drafts (retires the version before)"
    )
    def publish(self, request, queryset):
        self._each(request, queryset, services.template_publish, "published")

    @admin.action(description="Create the next version of each (a draft copy)")
    def new_version(self, request, queryset):
        self._each(request, queryset, services.template_new_version, "copied")

    @admin.action(description="Retire the selected published versions")
    def retire(self, request, queryset):
        self._each(request, queryset, services.template_retire, "retired")
