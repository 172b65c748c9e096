from django.apps import AppConfig


class CommunitySupportsConfig(AppConfig):
    name = "community_supports"
    verbose_name = "Community Supports network"
