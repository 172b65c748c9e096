"""Django's template backend, rendering each template on a fresh frame-stack
chunk (see calaim.web.stack): the same output, in the same time at any stack
depth."""

from django.template import TemplateDoesNotExist
from django.template.backends import django as django_backend

from calaim.web.stack import on_fresh_chunk


class Template(django_backend.Template):
    def render(self, context=None, request=None):
        return on_fresh_chunk(super().render, context, request)


class DjangoTemplates(django_backend.DjangoTemplates):
    def from_string(self, template_code):
        return Template(self.engine.from_string(template_code), self)

    def get_template(self, template_name):
        try:
            return Template(self.engine.get_template(template_name), self)
        except TemplateDoesNotExist as exc:
            django_backend.reraise(exc, self)
