from django.urls import path

from rewards import views

urlpatterns = [
    path("api/rewards/allocations", views.my_allocations, name="api-allocations"),
    path("api/rewards/vouchers", views.my_vouchers, name="api-vouchers"),
    path(
        "api/rewards/allocations/<int:allocation_id>",
        views.allocation_download,
        name="allocation-download",
    ),
    path("api/rewards/vouchers/<int:voucher_id>", views.voucher_download, name="voucher-download"),
    path("api/rewards/royalties", views.my_royalties, name="api-royalties"),
    path("me/rewards", views.my_rewards, name="my-rewards"),
]
