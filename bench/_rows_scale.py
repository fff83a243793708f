"""Table rows of the scale benchmarks (``bench.run``): the dataset-wide consensus run and the
near-duplicate search."""

from __future__ import annotations

from typing import Any

from bench._rows import Row, _ok


def near_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    full = s["size"] >= s["target"]["at_size"]
    for field, what in (("image", "perceptual hashes"), ("text", "MinHash signatures")):
        r = s[field]
        met = full and r["p95"] <= s["target"]["p95_ms_max"]
        recall = s["recall"][field]
        rows.append((
            f"near-duplicate search, {s['size']:,} {what}",
            f"{s['ratio_vs_reference'][field]}× the {s['reference_window']:,}-row window read "
            f"(p50)",
            f"p50 {r['p50']} ms, p95 {r['p95']} ms; recall {recall} vs brute force; cold "
            f"{s['cold_ms'][field]} ms; both indexes +{s['index_rss_growth_mib']} MiB RSS",
            f"p95 ≤ {s['target']['p95_ms_max']} ms at {s['target']['at_size']:,}: "
            + (_ok(met) if full else "not at full size"),
        ))  # fmt: skip
    return rows
