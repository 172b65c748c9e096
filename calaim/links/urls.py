"""Action links, mounted at /links/."""

from django.urls import path

from calaim.links import views

urlpatterns = [
    path("<str:token>/", views.action_link, name="action_link"),
]
