"""What the web benchmark requests and how: the pages, the interleaved timed GETs over one
keep-alive connection per user, and the table of the results."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

from bench._stats import rounded_rank, spread


@dataclass(frozen=True)
class Mode:
    contributions: int
    requests: int
    repeat: int
    warmup: int


FULL = Mode(contributions=1_000_000, requests=20, repeat=5, warmup=5)
QUICK = Mode(contributions=100_000, requests=8, repeat=5, warmup=2)


def measure(
    base: str, pages: list[dict[str, Any]], cookies: dict[str, str], mode: Mode
) -> dict[str, Any]:
    """``mode.warmup`` rounds, then ``mode.repeat`` rounds of ``mode.requests`` GETs of every
    page in turn; per page p50/p95 over the rounds and their ratios to ``/healthz``'s of the
    same round. An answer other than 200 or without the expected text is a problem."""
    import requests

    sessions = {}
    for who, key in cookies.items():
        sessions[who] = requests.Session()
        if key:
            sessions[who].cookies.set("sessionid", key, domain="127.0.0.1", path="/")
    problems: list[str] = []

    def get(page: dict[str, Any]) -> tuple[float, int]:
        started = time.perf_counter()
        response = sessions[page["as"]].get(base + page["path"], allow_redirects=False, timeout=60)
        ms = 1000 * (time.perf_counter() - started)
        if response.status_code != 200:
            problems.append(f"{page['name']}: HTTP {response.status_code}")
        elif page["expect"] not in response.text:
            problems.append(f"{page['name']}: {page['expect']!r} not in the page")
        return ms, len(response.content)

    sizes: dict[str, int] = {}
    for _ in range(mode.warmup):
        for page in pages:
            _, sizes[page["name"]] = get(page)
    rounds: list[dict[str, dict[str, float]]] = []
    for round_no in range(mode.repeat):
        samples: dict[str, list[float]] = {p["name"]: [] for p in pages}
        for _ in range(mode.requests):
            for page in pages:  # interleaved: drift and noise touch every page alike
                samples[page["name"]].append(get(page)[0])
        rounds.append(
            {
                n: {"p50": rounded_rank(v, 0.5), "p95": rounded_rank(v, 0.95)}
                for n, v in samples.items()
            }
        )
        line = "  ".join(f"{n} {r['p50']:.1f}/{r['p95']:.1f}" for n, r in rounds[-1].items())
        print(f"round {round_no + 1} p50/p95 ms: {line}", file=sys.stderr)
    out: dict[str, Any] = {}
    for page in pages:
        name = page["name"]
        entry: dict[str, Any] = {"path": page["path"], "as": page["as"], "bytes": sizes[name]}
        for q in ("p50", "p95"):
            entry[f"{q}_ms"] = spread([r[name][q] for r in rounds])
            entry[f"{q}_vs_healthz"] = spread([r[name][q] / r["healthz"][q] for r in rounds])
        out[name] = entry
    return {"pages": out, "problems": sorted(set(problems))}


def markdown(summary: dict[str, Any]) -> str:
    data = summary["data"]
    run_ = summary["run"]
    lines = [
        f"{data['rows']['contributions_contribution']:,} contributions "
        f"({data['contributor_contributions']:,} of them the signed-in contributor's), "
        f"{summary['server']}; {run_['rounds']} rounds x {run_['requests_per_round']} requests "
        f"per page; median (min–max) over rounds.",
        "",
        "| page | p50 / healthz | p95 / healthz | p50 ms | p95 ms | KiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, p in summary["pages"].items():
        lines.append(
            f"| {name} `{p['path']}` | {p['p50_vs_healthz']['median']}x | "
            f"{p['p95_vs_healthz']['median']}x | {p['p50_ms']['median']} "
            f"({p['p50_ms']['min']}–{p['p50_ms']['max']}) | {p['p95_ms']['median']} "
            f"({p['p95_ms']['min']}–{p['p95_ms']['max']}) | {p['bytes'] / 1024:.0f} |"
        )
    lines += ["", f"gunicorn workers' peak RSS (MiB): {summary['gunicorn_worker_peak_rss_mib']}"]
    lines += [f"PROBLEM: {p}" for p in summary["problems"]]
    return "\n".join(lines) + "\n"
