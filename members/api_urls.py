from django.urls import path

from members import api

urlpatterns = [
    path("members/", api.MemberList.as_view(), name="api_member_list"),
    path(
        "members/<uuid:member_id>", api.MemberDetail.as_view(), name="api_member_detail"
    ),
]
