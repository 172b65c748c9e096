"""ECM pages; for now the panels this app adds to the member chart and home page."""

from calaim.web.panels import first_and_count
from care_plans import selectors

# How many rows a home-page list shows; the count above it tells the rest.
HOME_LIST_LIMIT = 50


def episode_panel(request, member):
    """Chart panel: the member's open ECM episode, and the forms (discontinue,
    reassign, cover) for those who may use them."""
    from care_plans.cm_views import episode_actions_context, latest_episode

    # One read of the episode serves this panel and the other ECM panels.
    episode = latest_episode(request, member)
    if episode is not None and not episode.is_open:
        episode = None
    return {"episode": episode, **episode_actions_context(request, episode)}


def caseload_panel(request):
    """Home panel for care managers: the members they are lead care manager for."""
    return {"episodes": list(selectors.caseload_for(request.user))}


def organization_episodes_panel(request):
    """Home panel for supervisors and provider administrators: the organization's
    open episodes."""
    episodes, count = first_and_count(
        selectors.open_episodes_of_organization(request.user), HOME_LIST_LIMIT
    )
    return {"episodes": episodes, "count": count}
