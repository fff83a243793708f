"""What a replay found: discrepancies (each a line), notes (what could not be checked, and
why), counts, and the verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from datadao_verify.i18n import _, shown


@dataclass(frozen=True)
class Finding:
    """One discrepancy or note: what it is about (``subject``: "manifest", "contribution #12",
    "epoch 3"), its kind (manifest, content, replay, signature, epoch, chain) and the
    message. Subject and message are ``Detail``s: English as stored, translated when shown."""

    subject: str
    kind: str
    message: str

    def line(self) -> str:
        return f"{self.subject}: {self.message}"

    def shown_line(self) -> str:
        """The line in the user's language (``line`` stays English)."""
        return _("{subject}: {message}").format(
            subject=shown(self.subject), message=shown(self.message)
        )


@dataclass
class Report:
    cid: str
    source: str
    dataset: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    contributions: int = 0
    content_checked: int = 0
    # Sealed files (manifest and contributions) fetched and found well formed, opened or not.
    ciphertexts_checked: int = 0
    # "" for a public release; "grant" for a sealed one opened with a grant; "proofs" for a
    # sealed one checked through its proof sheet, without plaintext.
    sealed: str = ""
    replayed: int = 0
    signatures_checked: int = 0
    epochs_checked: int = 0
    chain_checked: int = 0
    seconds: float = 0.0
    discrepancies: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)

    def discrepancy(self, subject: str, kind: str, message: str) -> None:
        self.discrepancies.append(Finding(subject, kind, message))

    def note(self, subject: str, kind: str, message: str) -> None:
        self.notes.append(Finding(subject, kind, message))

    @property
    def clean(self) -> bool:
        return not self.discrepancies

    @property
    def rate(self) -> float:
        """Contributions replayed per second (content fetched and checked, scores re-run)."""
        return self.contributions / self.seconds if self.seconds > 0 else 0.0

    @property
    def scores_rerun(self) -> bool:
        """False when nothing could be re-run for want of plaintext (a sealed release checked
        without a grant): a clean verdict then covers signatures and roots only."""
        return self.sealed != "proofs"

    def summary(self) -> str:
        """The last line printed, in the user's language (the JSON report stays English)."""
        if not self.scores_rerun:
            return self._sealed_summary()
        what = (
            _(
                "{contributions} contributions ({content} contents checked, {replayed} replayed, "
                "{signatures} attestations), {epochs} reward epochs"
            ).format(
                contributions=self.contributions,
                content=self.content_checked,
                replayed=self.replayed,
                signatures=self.signatures_checked,
                epochs=self.epochs_checked,
            )
            + self._on_chain()
        )
        verdict = _("clean") if self.clean else self._discrepancies()
        line = _("release {cid} ({name} v{version}): {what} in {seconds} s: {verdict}")
        return self._filled(line, what, verdict)

    def _sealed_summary(self) -> str:
        verdict = _("clean (signatures and roots only)") if self.clean else self._discrepancies()
        what = (
            _(
                "{contributions} contributions ({ciphertexts} ciphertexts checked, {signatures} "
                "attestations; scores not re-run: no plaintext), {epochs} reward epochs"
            ).format(
                contributions=self.contributions,
                ciphertexts=self.ciphertexts_checked,
                signatures=self.signatures_checked,
                epochs=self.epochs_checked,
            )
            + self._on_chain()
        )
        line = _(
            "sealed release {cid} ({name} v{version}), no grant: {what} in {seconds} s: {verdict}"
        )
        return self._filled(line, what, verdict)

    def _filled(self, line: str, what: str, verdict: str) -> str:
        name = self.dataset.get("dao", "?") + "/" + self.dataset.get("slug", "?")
        return line.format(
            cid=self.cid,
            name=name,
            version=self.version,
            what=what,
            seconds=f"{self.seconds:.2f}",
            verdict=verdict,
        )

    def _on_chain(self) -> str:
        if not self.chain_checked:
            return ""
        return " " + _("({count} on chain)").format(count=self.chain_checked)

    def _discrepancies(self) -> str:
        count = len(self.discrepancies)
        if count == 1:
            return _("1 discrepancy")
        return _("{count} discrepancies").format(count=count)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["clean"] = self.clean
        data["scores_rerun"] = self.scores_rerun
        data["rate"] = round(self.rate, 3)
        data["seconds"] = round(self.seconds, 3)
        return data
