"""``{% load cids %}{% cid_link cid %}``: a CID as a link to ``/ipfs/<cid>`` (``ipfs.links``)."""

from __future__ import annotations

from django import template

from ipfs import links

register = template.Library()
register.simple_tag(links.cid_link, name="cid_link")
