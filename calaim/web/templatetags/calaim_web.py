"""Template tags of the browser shell."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context, rendered):
    """Render a registered panel's template with its own context.

    Like `{% include %}` with a dict: the panel's variables are pushed onto the
    page's context, so `request`, `user` and `csrf_token` stay available.
    """
    panel_template = context.template.engine.get_template(rendered.panel.template)
    with context.push(panel=rendered.panel, **rendered.context):
        return panel_template.render(context)
