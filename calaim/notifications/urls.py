from django.urls import path

from calaim.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("badge/", views.notification_badge, name="badge"),
    path(
        "<uuid:public_id>/acknowledge/",
        views.notification_acknowledge,
        name="acknowledge",
    ),
    path("<uuid:public_id>/read/", views.notification_read, name="read"),
]
