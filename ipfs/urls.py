"""The gateway path: ``/ipfs/<cid>``, included by the root URL map."""

from django.urls import path

from ipfs.views import serve_cid

urlpatterns = [path("<str:cid>", serve_cid, name="ipfs-cid")]
