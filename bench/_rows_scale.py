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


def labeling_run_rows(s: dict[str, Any]) -> list[Row]:
    first, target = s["first_run"], s["target"]
    full = s["labels"] >= target["at_labels"] * 0.99
    met = full and first["total_s"] <= target["total_s_max"]
    met = met and s["peak_rss_growth_mib"] <= target["peak_mib_max"]
    return [
        (
            f"Dawid–Skene run end to end, {s['labels']:,} labels, {s['tasks']:,} tasks",
            f"{s['total_vs_floor_scan']}× PostgreSQL's full scan of the labels "
            f"({s['floor_scan_s']} s)",
            f"{first['total_s']} s: read {s['read_s']} s, compute {first['compute_s']} s, write "
            f"{first['write_s']} s; peak RSS +{s['peak_rss_growth_mib']} MiB; re-run "
            f"{s['rerun']['total_s']} s; accuracy {s['accuracy']}",
            f"≤ {target['total_s_max']:.0f} s and ≤ {target['peak_mib_max']} MiB at "
            f"{target['at_labels']:,}: " + (_ok(met) if full else "not at full size"),
        ),
    ]


def rewards_epoch_rows(s: dict[str, Any]) -> list[Row]:
    target = s["target"]
    full = s["allocations"] >= 1_000_000
    met = target["close_at_most_10s"] and target["rss_at_most_200mib"]
    close = s["close_seconds"]
    return [
        (
            f"epoch close in PostgreSQL, {s['allocations']:,} allocations",
            f"{s['close_over_tree']['median']}× the bare tree build "
            f"({s['tree_seconds']['median']} s); {s['close_over_keccak_floor']['median']}× "
            f"its keccak calls ({s['keccak_floor_seconds']['median']} s)",
            f"{close['median']} ({close['min']}–{close['max']}) s, peak RSS "
            f"+{s['peak_rss_growth_mib']} MiB; load average {s['load_average'][0]:.1f}",
            "≤ 10 s and ≤ 200 MiB at 1,000,000: " + (_ok(met) if full else "not at full size"),
        ),
    ]
