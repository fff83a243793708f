"""A contribution's stored report, in words for its contributor. Pure: no Django imports.

The report is JSON written by several stages (validation now; others may add keys), so this
reads it generically: the parts it knows (tabular counts, cell errors, missing values per
column, the sniffed type) get sentences, and any other key is shown as a labelled fact rather
than dropped. Nothing here trusts the report's shape: a missing or odd value is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERRORS_SHOWN = 20
_FACTS_DEPTH = 3


@dataclass
class Section:
    title: str
    sentences: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # row, line, column, value, reason
    missing: list[tuple[str, int]] = field(default_factory=list)  # column, cells missing
    facts: list[tuple[str, str]] = field(default_factory=list)  # label, value


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    value = float(size)
    units = ("KiB", "MiB", "GiB", "TiB")
    index = 0
    value /= 1024
    while value >= 1024 and index < len(units) - 1:
        value /= 1024
        index += 1
    return f"{value:.1f} {units[index]}"


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize() or key


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) if value else "none"
    if value is None:
        return "—"
    return str(value)


def facts(data: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """Any JSON as (label, text) pairs; nested objects become "Parent: child" labels."""
    if not isinstance(data, dict):
        return [(prefix or "Value", _value(data))]
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        label = f"{prefix}: {_label(str(key)).lower()}" if prefix else _label(str(key))
        if isinstance(value, dict) and depth < _FACTS_DEPTH:
            out.extend(facts(value, label, depth + 1) if value else [(label, "none")])
        else:
            out.append((label, _value(value)))
    return out


def _tabular(data: dict[str, Any]) -> Section:
    section = Section("Rows")
    total, valid = _int(data.get("rows_total")), _int(data.get("rows_valid"))
    invalid = _int(data.get("rows_invalid"))
    if total is not None and valid is not None:
        section.sentences.append(f"{valid:,} of {_plural(total, 'row')} are valid.")
    if invalid:
        section.sentences.append(f"{_plural(invalid, 'row')} failed a check of the schema.")
    fmt = data.get("format")
    if isinstance(fmt, str):
        how = {"csv": "CSV", "jsonl": "JSON Lines"}.get(fmt, fmt)
        extra = []
        if isinstance(data.get("encoding"), str):
            extra.append(f"encoding {data['encoding']}")
        if isinstance(data.get("delimiter"), str):
            extra.append(f"delimiter {data['delimiter']!r}")
        section.sentences.append(f"Read as {how}" + (f" ({', '.join(extra)})." if extra else "."))
    fatal = data.get("fatal")
    for problem in fatal if isinstance(fatal, list) else []:
        section.sentences.append(f"The whole file was refused: {problem}.")
    out_of_range = _int(data.get("out_of_range"))
    if out_of_range:
        section.sentences.append(f"{_plural(out_of_range, 'value')} outside its column's range.")
    listed = data.get("errors")
    errors = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    section.errors = errors[:ERRORS_SHOWN]
    errors_total = _int(data.get("errors_total")) or len(errors)
    if errors_total > len(section.errors):
        section.sentences.append(
            f"The first {len(section.errors)} of {_plural(errors_total, 'problem')} are listed."
        )
    missing = data.get("missing_by_column")
    if isinstance(missing, dict):
        section.missing = [(str(k), v) for k, v in missing.items() if _int(v) is not None]
    return section


def _sniffed(data: dict[str, Any]) -> list[str]:
    media_type = data.get("media_type")
    if not media_type:
        return ["Its content type could not be recognised."]
    detail = data.get("detail")
    sentence = f"Its content was recognised as {media_type}"
    return [sentence + (f" ({detail})." if detail else ".")]


def validation_sections(validation: Any) -> list[Section]:
    """The validation report (``report["validation"]``) as sections."""
    if not isinstance(validation, dict) or not validation:
        return []
    file = Section("File")
    sections = [file]
    size = _int(validation.get("bytes"))
    if size is not None:
        file.sentences.append(f"{human_size(size)} received.")
    for key, value in validation.items():
        if key == "bytes":
            continue
        if key == "sniffed" and isinstance(value, dict):
            file.sentences.extend(_sniffed(value))
        elif key == "tabular" and isinstance(value, dict):
            sections.append(_tabular(value))
        elif isinstance(value, dict):
            sections.append(Section(_label(key), facts=facts(value)))
        else:
            file.facts.append((_label(key), _value(value)))
    return sections


def report_sections(report: Any) -> list[Section]:
    """Every part of a contribution's report: validation first, then novelty, then any other
    key the pipeline stored, each in words or as labelled facts."""
    if not isinstance(report, dict):
        return []
    sections = validation_sections(report.get("validation"))
    for key, value in report.items():
        if key == "validation":
            continue
        title = "Novelty" if key == "novelty" else _label(key)
        if isinstance(value, dict):
            sections.append(Section(title, facts=facts(value)))
        elif isinstance(value, str):
            sections.append(Section(title, sentences=[value]))
        else:
            sections.append(Section(title, facts=[(title, _value(value))]))
    return sections
