"""What a tabular contribution adds to its dataset, and the share of its reward that pays.

Pure: no Django imports.

The rule: a contribution is paid only for the rows it adds. Rows are compared by their
canonical digest (``validation.rowkey``), so a number's spelling, whitespace, delimiter,
quoting, line endings and column order cannot make a known row new. Of a file's ``rows``
valid rows, ``distinct`` are distinct; ``known`` of those are already in the dataset; the
other ``new`` are what it adds. A row repeated inside the file counts once: its copies are
paid nothing. The reward is the policy's amount for the contribution (scaled by its score)
times ``new / rows``, rounded down once, in integers. A file with no new row is rejected as
a duplicate and earns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BPS = 10_000


@dataclass(frozen=True)
class Novelty:
    """The row counts of one tabular contribution against its dataset."""

    rows: int
    distinct: int
    new: int

    def __post_init__(self) -> None:
        if not 0 <= self.new <= self.distinct <= self.rows:
            raise ValueError(f"inconsistent row counts: {self}")

    @property
    def known(self) -> int:
        return self.distinct - self.new

    @property
    def repeats(self) -> int:
        """Copies of rows already counted earlier in the same file."""
        return self.rows - self.distinct

    @property
    def share_bps(self) -> int:
        """``new / rows`` in basis points (floored): the signed uniqueness of the file."""
        return self.new * BPS // self.rows if self.rows else 0

    def claimed(self, new: int) -> Novelty:
        """The same file when only ``new`` of its rows were still new as it was recorded
        (another contribution recorded the others first)."""
        return Novelty(rows=self.rows, distinct=self.distinct, new=min(new, self.new))

    def summary(self) -> str:
        if self.new == 0:
            return (
                f"None of the {self.rows} rows is new: every one is already in this dataset"
                + (" or repeated in the file" if self.repeats else "")
                + "; nothing to pay."
            )
        parts = [f"{self.new} of {self.rows} rows are new; paid for {self.new}"]
        details = []
        if self.known:
            details.append(f"{self.known} already in this dataset")
        if self.repeats:
            details.append(f"{self.repeats} repeated in the file")
        if details:
            parts.append(f" ({', '.join(details)})")
        return "".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "distinct": self.distinct,
            "known": self.known,
            "repeats": self.repeats,
            "new": self.new,
            "paid_rows": self.new,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Novelty:
        return cls(rows=int(data["rows"]), distinct=int(data["distinct"]), new=int(data["new"]))
