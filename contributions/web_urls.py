from django.urls import path

from contributions import views

urlpatterns = [
    path("me/contributions", views.my_contributions, name="my-contributions"),
    path("daos/<slug:dao_slug>/<slug:dataset_slug>/", views.dataset_page, name="dataset-page"),
    path(
        "daos/<slug:dao_slug>/<slug:dataset_slug>/example.csv",
        views.dataset_example,
        name="dataset-example",
    ),
]
