"""HTML pages of the contributions app, mounted at the site root by config.urls."""

from django.urls import path

from contributions import release_views

urlpatterns = [
    path("<str:cid>/", release_views.release_page, name="release-page"),
]
