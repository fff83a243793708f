"""How each benchmark's summary becomes rows of the ``python -m bench`` table: figure, ratio
against the same run's reference, absolute figure (context), target."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str]  # figure, ratio (same-run reference), absolute, target


def _ok(flag: Any) -> str:
    return "met" if flag else "NOT met"


def _rng(d: dict[str, Any], digits: int = 2, suffix: str = "") -> str:
    return f"{d['median']:.{digits}f}{suffix} ({d['min']:.{digits}f}–{d['max']:.{digits}f})"


def ipfs_rows(s: dict[str, Any]) -> list[Row]:
    res = s["results"]
    rows: list[Row] = []
    for kind in ("cid_v1", "cid_v0", "embedded_add", "node_only_hash"):
        if kind not in res:
            continue
        r = res[kind]
        per = r["ratio_vs_sha256_per_round"]
        target = ""
        if kind == "cid_v1":
            target = f"≥ 0.70× sha256: {_ok(s['target']['met'])}"
        rss = (
            f", peak RSS +{r['peak_rss_growth_kib'] / 1024:.2f} MiB"
            if "peak_rss_growth_kib" in r
            else ""
        )
        rows.append((
            f"{kind} of {s['size_mib']} MiB" + (" (js-ipfs)" if kind.startswith("node") else ""),
            f"{r['ratio_vs_sha256']}× sha256 ({per['min']}–{per['max']})",
            f"{r['median_mib_s']} MiB/s vs sha256 {res['sha256']['median_mib_s']} MiB/s{rss}",
            target,
        ))  # fmt: skip
    return rows


def sealing_rows(s: dict[str, Any]) -> list[Row]:
    res = s["results"]
    floor = res["floor"]["median_mib_s"]
    rows: list[Row] = []
    for kind in ("encrypt", "sealed_upload", "decrypt"):
        r = res[kind]
        per = r["ratio_vs_floor_per_round"]
        target = ""
        if kind != "encrypt":
            met = r["ratio_vs_floor"] >= s["target"]["ratio_vs_floor_min"]
            target = f"≥ 0.50× floor: {_ok(met)}"
        rows.append((
            f"{kind} of {s['size_mib']} MiB (AES-256-GCM, 1 MiB chunks)",
            f"{r['ratio_vs_floor']}× sha256+write+fsync ({per['min']}–{per['max']})",
            f"{r['median_mib_s']} MiB/s ({r['seconds_per_gib']} s/GiB) vs floor {floor} MiB/s, "
            f"peak RSS +{r['peak_rss_growth_kib'] / 1024:.2f} MiB",
            target,
        ))  # fmt: skip
    return rows


def pipeline_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for lane, per_lane in s.get("pipeline_by_lane", {"express": s["pipeline"]}).items():
        rows.extend(_lane_rows(s, lane, per_lane))
    for key, ratio in s.get("express_vs_stages", {}).items():  # results before 2026-11-29
        kind, workers = key.split("_")
        rows.append((
            f"{kind}, {workers[:-1]} worker(s): express lane vs one task per stage",
            f"{_rng(ratio, 3)}× the per-stage lane's end-to-end rate",
            "paired by repetition",
            "",
        ))  # fmt: skip
    for key, ratio in s.get("lane_ratios", {}).items():
        lanes, workload = key.split("/")
        first, other = lanes.split("_vs_")
        kind, workers = workload.split("_")
        rows.append((
            f"{kind}, {workers[:-1]} worker(s): {first} lane vs {other} lane",
            f"{_rng(ratio, 3)}× the {other} lane's end-to-end rate",
            f"paired by repetition ({ratio.get('pairs', '?')} pairs)",
            "",
        ))  # fmt: skip
    web = s["web_upload"]
    rows.append((
        f"web upload of {web['upload_mib']} MiB",
        f"{_rng(web['ratio_vs_floor'], 2)}× the hash+write floor",
        f"{web['mib_s']['median']} MiB/s, web worker RSS +{web['worker_peak_rss_growth_mib']} MiB",
        f"≤ {web['target_growth_mib']} MiB: "
        + _ok(web["worker_peak_rss_growth_mib"] <= web["target_growth_mib"]),
    ))  # fmt: skip
    return rows


def _pipeline_target(s: dict[str, Any], rate: float) -> str:
    if s.get("mode") == "quick":
        return "100/s applies to the full size (1,000 CSVs, 200 PNGs)"
    return "100/s: " + _ok(rate >= 100)


def _lane_rows(s: dict[str, Any], lane: str, per_lane: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for kind in ("csv", "png"):
        for count in s["workers"]:
            e = per_lane[kind].get(str(count))
            if e is None:  # a comparison lane runs at fewer worker counts
                continue
            rows.append((
                f"{kind} end to end, {count} worker(s), {lane} lane",
                f"{_rng(e['end_to_end_ratio_vs_floor'], 4)}× the sha256+write+fsync floor",
                f"{e['end_to_end_contrib_s']['median']}/s (floor {e['floor_files_s']['median']} "
                f"files/s), overhead {e['end_to_end_overhead_ms_per_contribution']['median']} "
                f"ms/contribution, worker peak RSS {e.get('worker_peak_rss_mib', '?')} MiB",
                _pipeline_target(s, e["end_to_end_contrib_s"]["median"]),
            ))  # fmt: skip
    return rows


def assign_rows(s: dict[str, Any]) -> list[Row]:
    lat = s["latency_ms"]
    ratios = s["ratios"]
    target = s["target"]
    tasks = s["data"]["tasks"]
    labelers = s["run"]["concurrent_labelers"]
    verdict = (
        f"p95 ≤ 20 ms at 1M: {_ok(target['met'])}"
        if target["applies"]
        else "p95 ≤ 20 ms applies at 1M tasks"
    )
    return [
        (
            f"label `next` at {tasks:,} tasks, {labelers} labelers non-stop",
            f"p95 {ratios['next_p95_vs_select_1_p95']['median']}× SELECT 1 p95, "
            f"{ratios['next_p95_vs_commit_1_p95']['median']}× commit p95",
            f"p50 {_rng(lat['next']['p50'])} ms, p95 {_rng(lat['next']['p95'])} ms",
            verdict,
        ),
        (
            "label submit",
            f"p95 {ratios['submit_p95_vs_commit_1_p95']['median']}× commit p95",
            f"p95 {_rng(lat['submit']['p95'])} ms, "
            f"{s['throughput']['labels_per_s']['median']} labels/s",
            "",
        ),
    ]


def consensus_rows(s: dict[str, Any]) -> list[Row]:
    ours, peer = s["ours"], s.get("peer", {})
    rows: list[Row] = []
    for kind, label in (("ds", "Dawid–Skene"), ("mv", "majority vote")):
        if kind not in peer:
            continue
        target = ""
        if kind == "ds":
            target = f"≥ 3× at equal accuracy: {_ok(s['target']['met'])}"
        per_round = s.get("speedup_per_round", {}).get(kind)
        spread = f" (per round {per_round['min']}–{per_round['max']})" if per_round else ""
        rows.append((
            f"{label}, {s['labels']:,} labels",
            f"{s['speedup'][kind]}× faster than crowd-kit{spread}",
            f"{ours[kind]['seconds']['median']} s vs {peer[kind]['seconds']['median']} s; "
            f"accuracy {ours[kind]['accuracy']:.4f} vs {peer[kind]['accuracy']:.4f}"
            + (f"; peak {ours[kind]['peak_traced_mib']} MiB" if kind == "ds" else ""),
            target,
        ))  # fmt: skip
    return rows


def types_rows(s: dict[str, Any]) -> list[Row]:
    r = s["results"]
    b, sp, p, t = r["boxes"], r["spans"], r["pairwise"], r["text"]
    rows: list[Row] = [
        (f"boxes, {b['images']:,} images: mean IoU",
         f"{b['mean_iou']['ours']} vs median box {b['mean_iou']['median_box']}; "
         f"{b['mean_iou']['ours_on_best_labelers_images']} vs best labeler "
         f"{b['mean_iou']['best_labeler']} on its images",
         f"{b['seconds']['ours']['median']} s", f"above both: {_ok(b['met'])}"),
        (f"spans, {sp['texts']:,} texts: token F1",
         f"{sp['token_f1']['ours']} vs majority vote {sp['token_f1']['majority_vote']}",
         f"{sp['seconds']['ours']['median']} s", f"above: {_ok(sp['met'])}"),
    ]  # fmt: skip
    for key, label, figure, ref in (
        ("pairwise", f"pairwise, {p['comparisons']:,} comparisons", "kendall_tau", "NoisyBT"),
        ("text", f"text, {t['tasks']:,} tasks", "word_error_rate", "ROVER"),
    ):
        d = r[key]
        if "crowdkit" not in d[figure]:
            continue
        rows.append((
            f"{label}: {figure.replace('_', ' ')}",
            f"{d[figure]['ours']} vs {ref} {d[figure]['crowdkit']}, {d['speedup']}× faster",
            f"{d['seconds']['ours']['median']} s vs {d['seconds']['crowdkit']['median']} s",
            f"at least as good, faster: {_ok(d['met'])}",
        ))  # fmt: skip
    return rows


def rewards_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    peer = s.get("peer")
    for size in s["sizes"]:
        e = s["results"][str(size)]["all_proofs"]
        ratio, target = "", ""
        if peer and peer["size"] == size:
            per_round = peer.get("speedup_per_round")
            spread = f", per round {per_round['min']}–{per_round['max']}" if per_round else ""
            ratio = (
                f"{peer['speedup']['tree_and_all_proofs']}× faster than @openzeppelin/merkle-tree "
                f"({peer['seconds']['median']} s{spread})"
            )
            target = f"≥ 5×: {_ok(peer['speedup']['tree_and_all_proofs'] >= 5)}"
            if not (peer["same_root"] and peer["same_proofs"]):
                target += "; ROOT/PROOFS DIFFER"
        if size == 1_000_000:
            target = f"< 30 s: {_ok(e['seconds']['median'] < 30)}"
        rows.append((
            f"tree + all proofs, {size:,} allocations",
            ratio,
            f"{_rng(e['seconds'], 3)} s, peak RSS +{e['peak_rss_growth_mib']} MiB",
            target,
        ))  # fmt: skip
    v = s["vouchers_signed_per_second"]
    rows.append(("vouchers signed", "", f"{_rng(v, 1, '/s')} ({v['ecc_backend']})", ""))
    return rows


def synthetic_rows(s: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    epochs = s.get("ctgan_epochs", 300)
    for table, methods in s["results"].items():
        g = methods["gan"]
        target = s["targets"][table]
        verdict = (
            f"all targets: {_ok(target['met'])}"
            if target.get("applies", True)
            else "targets apply to the full run (300 epochs)"
        )
        rows.append((
            f"GAN on {table}",
            f"fit {_rng(g['fit_ratio_vs_ctgan'])}× ctgan's {epochs}-epoch fit; quality gap "
            f"{g['quality_gap']:+.3f} to the real ceiling; TSTR/TRTR {g['tstr_trtr']:.3f}",
            f"fit {g['fit_s']:.1f} s (ctgan {methods['ctgan']['fit_s']:.1f} s); DCR share "
            f"{g['dcr_share']:.3f}; copies {g['exact_copies_max']}; "
            f"peak RSS +{g['peak_rss_growth_mib']} MiB",
            verdict,
        ))  # fmt: skip
    return rows


def web_rows(s: dict[str, Any]) -> list[Row]:
    pages = s["pages"]
    n = s["data"]["rows"]["contributions_contribution"]
    rss = max(s["gunicorn_worker_peak_rss_mib"].values(), default=0)
    rows: list[Row] = []
    for name, p in pages.items():
        if name == "healthz":
            continue
        rows.append((
            f"{name} `{p['path']}`, {n:,} contributions",
            f"p50 {p['p50_vs_healthz']['median']}×, p95 {p['p95_vs_healthz']['median']}× /healthz",
            f"p50 {_rng(p['p50_ms'], 1)} ms, p95 {_rng(p['p95_ms'], 1)} ms",
            "",
        ))  # fmt: skip
    h = pages["healthz"]
    rows.append((
        "/healthz (reference: SELECT 1 through the same stack)",
        "1×",
        f"p50 {_rng(h['p50_ms'], 1)} ms, p95 {_rng(h['p95_ms'], 1)} ms; worker peak RSS {rss} MiB",
        "",
    ))  # fmt: skip
    return rows


def load_rows(s: dict[str, Any]) -> list[Row]:
    load, req, ratios = s["load"], s["requests"], s["ratios"]

    def latency(name: str) -> str:
        d = req["endpoints"][name]["ms_ok"]
        if not d.get("n"):
            return "none answered"
        text = f"p50 {d['p50']} ms, p95 {d['p95']} ms, p99 {d['p99']} ms ({d['n']:,})"
        worker = s["server_logs"].get("in_worker_ms", {}).get(name, {})
        if worker.get("n"):
            text += f"; in the web worker p50 {worker['p50']} ms, p95 {worker['p95']} ms"
        return text

    def ratio(name: str) -> str:
        windows = s.get("windows")
        if windows is None:
            return f"p95 {ratios[f'{name}_p95_vs_healthz']}× /healthz p95"
        r = windows["p95_vs_healthz"][name]
        if not r.get("n"):
            return "no answers"
        return (
            f"p95 {_rng(r)}× /healthz p95 over {r['n']} windows of {windows['width_s']} s "
            f"(whole load {ratios[f'{name}_p95_vs_healthz']}×)"
        )

    drained = s["drain"]["seconds"]
    invariants = s["consistency"]["invariants"]
    return [
        (
            f"label `next` under load: {load['contributors']} contributors + "
            f"{load['labelers']} labelers, {load['duration_s']:.0f} s",
            ratio("next"),
            latency("next"),
            "",
        ),
        ("label submit under load", ratio("submit"), latency("submit"), ""),
        ("upload accept under load", ratio("upload"), latency("upload"), ""),
        (
            "requests under load",
            "",
            f"{req['total']:,} ({req['per_s']}/s): {s['throughput']['uploads_accepted_per_s']} "
            f"uploads/s, {s['throughput']['labels_per_s']} labels/s; 4xx "
            f"{sum(req['4xx_by_reason'].values())} (429 {req['429_quota']}), no answer "
            f"{sum(req['no_answer_by_reason'].values())}; machine "
            f"{100 * s['cpu']['machine_busy_share']:.0f} % busy",
            f"0 5xx: {_ok(req['5xx'] == 0)}",
        ),
        (
            "queue drained after the load",
            "",
            "not drained" if drained is None else f"{drained} s",
            f"≤ {s['drain']['target_s']:.0f} s: "
            f"{_ok(drained is not None and drained <= s['drain']['target_s'])}",
        ),
        (
            "fleet invariants after the load",
            "",
            f"{invariants.get('contributions', '?')} contributions, "
            f"{invariants.get('pinned', '?')} pinned",
            f"pass: {_ok(invariants['ok'])}",
        ),
    ]  # fmt: skip


def chain_rows(s: dict[str, Any]) -> list[Row]:
    r, w = s["relay_to_confirmed"], s["reader"]
    return [
        (
            f"relay to confirmed ({s['confirmations']} confirmations)",
            f"{_rng(r['ratio'], 1)}× the node's eth_getLogs of the range",
            f"{_rng(r['seconds'], 3, ' s')}; eth_getLogs {r['get_logs_seconds']['median']} s",
            "",
        ),
        (
            f"chain reader, {w['events']:,} events",
            f"{_rng(w['ratio'], 2)}× one eth_getLogs' time",
            f"{_rng(w['events_per_second'], 0, '/s')} vs eth_getLogs "
            f"{w['get_logs_events_per_second']['median']:.0f}/s",
            "",
        ),
    ]


def replay_rows(s: dict[str, Any]) -> list[Row]:
    pipeline = s["pipeline_per_s"]
    what = f"{s['contributions']} contributions of {s['rows_per_contribution']} rows"
    return [
        (
            f"release replay (datadao verify), {what}, one thread",
            f"{_rng(s['replay_vs_pipeline'], 1)}× the pipeline's rate in one process",
            f"{_rng(s['replay_per_s'], 0, '/s')} vs pipeline {pipeline['median']:.1f}/s",
            "",
        ),
        (
            f"release replay, {what}, {s['threads']} threads",
            f"{_rng(s['replay_threaded_vs_pipeline'], 1)}× the pipeline's rate in one process",
            f"{_rng(s['replay_threaded_per_s'], 0, '/s')}",
            "",
        ),
    ]
