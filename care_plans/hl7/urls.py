"""Pages of care_plans.hl7: the interface administrator's feed screens."""

from django.urls import path

from care_plans.hl7 import views

urlpatterns = [
    path("hl7/", views.feed, name="hl7_feed"),
    path("hl7/messages/<uuid:message_id>/", views.message_detail, name="hl7_message"),
    path("hl7/refused/", views.refused, name="hl7_refused"),
    path("hl7/senders/", views.senders, name="hl7_senders"),
    path("hl7/senders/new/", views.sender_create, name="hl7_sender_create"),
    path("hl7/senders/<uuid:sender_id>/", views.sender_edit, name="hl7_sender_edit"),
]
