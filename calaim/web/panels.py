"""Panel registries: what the member chart and the home page show.

The platform (layer 0) draws the member chart and the home page but must not
import the domain apps above it, so each app registers its panels here in its
AppConfig.ready(), and the pages render whatever is registered, in order.

Chart panels have a scope, as the access registry does (calaim.access): a
"chart" panel shows the member record to someone responsible for the member; a
"referral" panel shows referral data, which a Community Supports provider with an
open referral may also see. A chart viewer sees both kinds; a referral-only viewer
sees only "referral" panels.

The chart view sets `request.chart_scope` ("chart" or "referral") before calling
the panels, for a "referral" panel that must narrow what it shows to a
referral-only viewer (treat a missing attribute as "referral", the narrower one).

A panel's `context(request, member)` returns the template's variables, already
evaluated (lists, not lazy querysets), so the page's queries happen in the view
and each panel's query count can be pinned in a test.
"""

from collections.abc import Callable
from dataclasses import dataclass

from calaim.access import CHART, REFERRAL, SCOPES


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    template: str
    order: int
    scope: str
    context: Callable  # (request, member) -> dict


@dataclass(frozen=True)
class HomePanel:
    key: str
    title: str
    template: str
    order: int
    roles: tuple[str, ...]
    context: Callable  # (request) -> dict


_chart_panels: dict[str, Panel] = {}
_home_panels: dict[str, HomePanel] = {}


def _no_context(*args):
    return {}


def register_panel(
    key: str,
    *,
    title: str,
    template: str,
    order: int,
    scope: str = CHART,
    context: Callable | None = None,
) -> Panel:
    """Add a panel to the member chart (re-registering a key replaces it)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    panel = Panel(key, title, template, order, scope, context or _no_context)
    _chart_panels[key] = panel
    return panel


def chart_panels(scope: str) -> list[Panel]:
    """The panels a viewer with `scope` may see, in order.

    Seeing the chart implies seeing the referral data, so "chart" gets every
    panel and "referral" only the referral panels.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    panels = [
        panel
        for panel in _chart_panels.values()
        if scope == CHART or panel.scope == REFERRAL
    ]
    return sorted(panels, key=lambda panel: (panel.order, panel.key))


def register_home_panel(
    key: str,
    *,
    title: str,
    template: str,
    order: int,
    roles: tuple[str, ...],
    context: Callable | None = None,
) -> HomePanel:
    """Add a panel to the home page of users holding any of `roles`."""
    panel = HomePanel(key, title, template, order, tuple(roles), context or _no_context)
    _home_panels[key] = panel
    return panel


def home_panels(user) -> list[HomePanel]:
    """The home panels for `user`'s roles, in order."""
    panels = [panel for panel in _home_panels.values() if user.has_role(*panel.roles)]
    return sorted(panels, key=lambda panel: (panel.order, panel.key))


@dataclass(frozen=True)
class RenderedPanel:
    """A panel with its evaluated context, ready for the `render_panel` tag."""

    panel: Panel | HomePanel
    context: dict


def evaluate_chart_panels(request, member, scope: str) -> list[RenderedPanel]:
    return [
        RenderedPanel(panel, panel.context(request, member) or {})
        for panel in chart_panels(scope)
    ]


def evaluate_home_panels(request) -> list[RenderedPanel]:
    return [
        RenderedPanel(panel, panel.context(request) or {})
        for panel in home_panels(request.user)
    ]


def first_and_count(queryset, limit: int = 50) -> tuple[list, int]:
    """The first `limit` rows and the total, in one query unless there are more."""
    shown = list(queryset[:limit])
    count = len(shown) if len(shown) < limit else queryset.count()
    return shown, count


def columns_shown(model, *joined: str) -> list[str]:
    """Arguments for a panel's `.only()`: every column of `model`, and of the
    rows joined with select_related only `joined` (what the chart shows of a
    user or an organization, not the dozen other columns each would bring)."""
    return [field.name for field in model._meta.concrete_fields] + list(joined)
