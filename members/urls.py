from django.urls import path

from members import views

urlpatterns = [
    path("<uuid:member_uuid>/", views.member_chart, name="member_chart"),
]
