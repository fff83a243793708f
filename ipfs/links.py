"""A CID as the gateway link every page shows it as (``{% cid_link %}``, console fields).

The link goes to this server's ``/ipfs/<cid>``, which answers only what the reader may see;
the text is the whole CID, so it can be copied and checked. An empty CID gives "".
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString


def cid_link(cid: str | None) -> SafeString | str:
    if not cid:
        return ""
    return format_html(
        '<a href="{}"><code class="cid">{}</code></a>', reverse("ipfs-cid", args=[cid]), cid
    )
