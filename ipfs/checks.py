"""System checks: a replica configuration that cannot work stops ``manage.py check`` (and so
a deploy), not the first audit hours later."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured


def replicas_configured(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from ipfs.conf import replica_specs

    try:
        replica_specs()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="See IPFS_REPLICAS in deploy/env.example.", id="ipfs.E001")]
    return []
