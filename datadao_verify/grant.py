"""A grantee's grant file (``--grant FILE``): the signed access grant and the data keys of a
sealed release's files, as ``manage.py grant_replay_file`` writes it (format documented in
``rights.replay_keys``). Keys are held as ``DataKey``, whose repr never shows them; no message
here ever quotes a key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datadao.sealing import DataKey
from datadao_verify.i18n import _
from rewards.eip712 import recover_typed_data

GRANT_FILE_FORMAT = 1


@dataclass(frozen=True)
class GrantFile:
    release: str
    typed_data: dict[str, Any]
    signature: str
    manifest_key: DataKey | None
    contribution_keys: dict[int, DataKey] = field(default_factory=dict)

    @property
    def message(self) -> dict[str, Any]:
        return dict(self.typed_data.get("message") or {})

    def signer(self) -> str | None:
        """Who signed the grant (the verifier cannot tell whether they administer the DAO:
        that is the platform's record), or None when the signature does not recover."""
        try:
            return recover_typed_data(self.typed_data, self.signature)
        except (ValueError, TypeError, KeyError):
            return None


def _key(value: Any, what: str) -> DataKey:
    try:
        material = bytes.fromhex(value) if isinstance(value, str) else b""
        return DataKey(material)
    except ValueError:
        raise ValueError(_("{what} is not a 32-byte key in hex").format(what=what)) from None


def load_grant(path: Path) -> GrantFile:
    """The grant file at ``path``; ValueError naming what is wrong (never a key's value)."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(
            _("the grant file cannot be read: {error}").format(error=exc.strerror)
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(_("the grant file {path} is not JSON").format(path=path)) from None
    if not isinstance(document, dict) or document.get("datadao_grant") != GRANT_FILE_FORMAT:
        raise ValueError(
            _(
                "the grant file {path} is not a datadao grant file (datadao_grant {format}): "
                "write one with manage.py grant_replay_file"
            ).format(path=path, format=GRANT_FILE_FORMAT)
        )
    grant = document.get("grant") or {}
    keys = document.get("keys") or {}
    if not isinstance(grant.get("typedData"), dict) or not isinstance(grant.get("signature"), str):
        raise ValueError(_("the grant file holds no signed grant (grant.typedData, .signature)"))
    contributions = keys.get("contributions") or {}
    if not isinstance(contributions, dict) or not all(
        isinstance(k, str) and k.isdigit() for k in contributions
    ):
        raise ValueError(_("the grant file's keys.contributions is not an object of ids"))
    return GrantFile(
        release=str(document.get("release") or ""),
        typed_data=grant["typedData"],
        signature=grant["signature"],
        manifest_key=_key(keys["manifest"], "keys.manifest") if keys.get("manifest") else None,
        contribution_keys={
            int(pk): _key(value, _("the key of contribution #{pk}").format(pk=pk))
            for pk, value in contributions.items()
        },
    )
