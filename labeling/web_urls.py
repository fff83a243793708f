from django.urls import path

from labeling import views

urlpatterns = [
    path("daos/<slug:dao_slug>/<slug:dataset_slug>/label", views.label_page, name="label-page"),
    path("daos/<slug:dao_slug>/<slug:dataset_slug>/review", views.review_page, name="review-page"),
]
