"""Pages of community_supports, under /network/."""

from django.urls import path

from community_supports import views

CONTRACT = "network/contracts/<uuid:contract_uuid>/"

urlpatterns = [
    path("network/catalog/", views.catalog, name="cs_catalog"),
    path("network/offerings/", views.offerings, name="cs_offerings"),
    path(
        "network/offerings/<uuid:offering_uuid>/",
        views.offering_edit,
        name="cs_offering_edit",
    ),
    path("network/contracts/", views.contracts, name="cs_contracts"),
    path("network/contracts/new/", views.contract_new, name="cs_contract_new"),
    path(CONTRACT, views.contract_detail, name="cs_contract_detail"),
    path(f"{CONTRACT}edit/", views.contract_edit, name="cs_contract_edit"),
    path(
        "network/my-contracts/",
        views.provider_contracts,
        name="cs_provider_contracts",
    ),
]
