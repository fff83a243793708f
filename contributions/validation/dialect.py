"""Which delimiter a CSV uses, decided on a bounded sample of its text.

Pure: no Django imports. ``csv.Sniffer`` gives the first guess, on at most
``SNIFFER_SAMPLE_CHARS`` characters: its quote-guessing regular expressions are quadratic
(16 000 repetitions of ``,"a`` take about 10 s), so it never sees more. Every candidate is then
scored by parsing the larger sample quote-aware with ``csv.reader``: the share of records with
as many fields as the first (header) record. The Sniffer's guess wins ties, and is asked only
when there is a tie.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

DELIMITERS = (",", ";", "\t", "|")
SNIFFER_SAMPLE_CHARS = 4096
# Only this many records are scored: enough to see a pattern, bounded in cost.
MAX_SCORED_RECORDS = 200


@dataclass(frozen=True)
class DelimiterGuess:
    """The best delimiter for a sample.

    ``score`` is the share (0..1) of sampled records whose field count equals the first
    record's; ``fields`` is that first record's field count; ``records`` how many non-blank
    records were scored. ``delimiter`` is None when no candidate gives at least two fields.
    """

    delimiter: str | None
    score: float
    fields: int
    records: int

    @property
    def consistent(self) -> bool:
        return self.delimiter is not None and self.score == 1.0


def detect_delimiter(sample: str, *, complete: bool) -> DelimiterGuess:
    """Guess the delimiter of CSV text whose first part is ``sample``.

    ``complete`` says the sample is the whole file; when it is not, the sample's last record is
    ignored because it may be cut short.
    """
    candidates = []
    for delimiter in DELIMITERS:
        score, fields, records = _score(sample, delimiter, complete=complete)
        if fields >= 2:
            candidates.append(DelimiterGuess(delimiter, score, fields, records))
    if not candidates:
        return DelimiterGuess(None, 0.0, 1, 0)
    top = max(c.score for c in candidates)
    tied = [c for c in candidates if c.score == top]
    if len(tied) == 1:
        # The Sniffer only breaks ties; it costs more than all the scoring together (about
        # 2 ms per 4 KiB), so a clear winner does not pay for it.
        return tied[0]
    sniffed = _sniffer_guess(sample[:SNIFFER_SAMPLE_CHARS])
    # The Sniffer's guess among the tied, else the first tied in DELIMITERS order.
    return next((c for c in tied if c.delimiter == sniffed), tied[0])


def _sniffer_guess(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return None


def _score(sample: str, delimiter: str, *, complete: bool) -> tuple[float, int, int]:
    records: list[int] = []
    try:
        for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if row:
                records.append(len(row))
            if len(records) > MAX_SCORED_RECORDS:
                break
    except csv.Error:
        # A quote left open by the cut at the sample's end, or by a wrong delimiter guess.
        pass
    if not complete and len(records) > 1 and len(records) <= MAX_SCORED_RECORDS:
        records.pop()
    if not records:
        return 0.0, 0, 0
    fields = records[0]
    return sum(1 for n in records if n == fields) / len(records), fields, len(records)
