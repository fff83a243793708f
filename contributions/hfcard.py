"""What makes a release load anywhere: a Hugging Face dataset card (``README.md`` with YAML
front matter) and an ML Commons Croissant JSON-LD file, built from the release's dataset
description and the files pinned beside it. Pure: no Django imports.

Both are deterministic (no dates, no release number): the same data gives the same bytes and
so the same CIDs, which is what lets a publish with nothing new return the latest release.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

# The data shard's path, as ``datasets`` expects a single-split dataset's files.
DATA_PATH = "data/train-00000-of-00001.parquet"
CARD_PATH = "README.md"
CROISSANT_PATH = "croissant.json"

# SPDX ids the platform accepts -> the Hub's licence ids (anything else is "other").
_HUB_LICENSES = {
    "cc-by-4.0": "cc-by-4.0",
    "cc-by-sa-4.0": "cc-by-sa-4.0",
    "cc-by-nc-4.0": "cc-by-nc-4.0",
    "cc0-1.0": "cc0-1.0",
    "mit": "mit",
    "apache-2.0": "apache-2.0",
    "odbl-1.0": "odbl",
    "odc-by-1.0": "odc-by",
    "pddl-1.0": "pddl",
}
# Schema column types -> (Hub feature dtype, Croissant dataType).
_TYPES = {
    "int": ("int64", "sc:Integer"),
    "float": ("float64", "sc:Float"),
    "bool": ("bool", "sc:Boolean"),
    "string": ("string", "sc:Text"),
    "category": ("string", "sc:Text"),
    "datetime": ("timestamp[us, tz=UTC]", "sc:DateTime"),
}
_SIZES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
)


def hub_license(spdx: str) -> str:
    return _HUB_LICENSES.get((spdx or "").lower(), "other")


def size_category(rows: int) -> str:
    for limit, name in _SIZES:
        if rows < limit:
            return name
    return "n>100M"


def fields(columns: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(name, Hub dtype, Croissant dataType) of every column of the data shard, provenance
    columns last: the shard is the release's merged rows (``contributions.export``)."""
    return [(c["name"], *_TYPES.get(c.get("type", "string"), _TYPES["string"])) for c in columns]


def task_categories(kind: str, schema: dict[str, Any]) -> list[str]:
    target = schema.get("target")
    if kind != "tabular" or not target:
        return []
    types = {c["name"]: c.get("type") for c in schema.get("columns", [])}
    return [
        "tabular-regression" if types.get(target) in ("int", "float") else "tabular-classification"
    ]


def card(
    dataset: dict[str, Any], *, rows: int, columns: list[tuple[str, str, str]], files: list[str]
) -> str:
    """The dataset card: YAML front matter the Hub reads (licence, task categories, size
    category, features, the data files of its one config), then a short description."""
    front: dict[str, Any] = {
        "license": hub_license(dataset.get("license", "")),
        "pretty_name": dataset["name"],
        "size_categories": [size_category(rows)],
        "tags": ["datadao", f"datadao-{dataset['kind']}"],
    }
    tasks = task_categories(dataset["kind"], dataset.get("schema") or {})
    if tasks:
        front["task_categories"] = tasks
    if files:
        front["configs"] = [
            {"config_name": "default", "data_files": [{"split": "train", "path": DATA_PATH}]}
        ]
        front["dataset_info"] = {
            "features": [{"name": name, "dtype": dtype} for name, dtype, _ in columns],
            "splits": [{"name": "train", "num_examples": rows}],
        }
    body = [
        f"# {dataset['name']}",
        "",
        f"Published by the data DAO `{dataset['dao']}` (DAO id `{dataset['dao_id']}`, chain "
        f"{dataset['chain_id']}) as dataset `{dataset['slug']}` ({dataset['kind']}), under "
        f"{dataset.get('license') or 'no stated licence'}.",
        "",
    ]
    if files:
        body += [
            f"`{DATA_PATH}` holds the release's {rows} rows: every pinned contribution's rows "
            "in the schema's columns, then `_contribution` (the contribution's id) and "
            "`_contributor` (its contributor's address).",
            "",
            "```python",
            "from datasets import load_dataset",
            f'ds = load_dataset("parquet", data_files="{DATA_PATH}")',
            "```",
            "",
        ]
    body += [
        "The release manifest beside these files lists every contribution with its CID, "
        "scores and signed proof of contribution; `croissant.json` describes the files in "
        "ML Commons Croissant.",
        "",
    ]
    text = yaml.safe_dump(front, sort_keys=True, allow_unicode=True)
    return f"---\n{text}---\n\n" + "\n".join(body)


def croissant(
    dataset: dict[str, Any], *, columns: list[tuple[str, str, str]], shard_sha256: str | None
) -> dict[str, Any]:
    """Croissant 1.0 JSON-LD: the dataset, its data shard as a FileObject (with its SHA-256)
    and one RecordSet whose fields read the shard's columns."""
    doc: dict[str, Any] = {
        "@context": {
            "@language": "en",
            "@vocab": "https://schema.org/",
            "cr": "http://mlcommons.org/croissant/",
            "sc": "https://schema.org/",
            "dct": "http://purl.org/dc/terms/",
            "citeAs": "cr:citeAs",
            "column": "cr:column",
            "conformsTo": "dct:conformsTo",
            "data": {"@id": "cr:data", "@type": "@json"},
            "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
            "examples": {"@id": "cr:examples", "@type": "@json"},
            "extract": "cr:extract",
            "field": "cr:field",
            "fileObject": "cr:fileObject",
            "fileSet": "cr:fileSet",
            "format": "cr:format",
            "includes": "cr:includes",
            "isLiveDataset": "cr:isLiveDataset",
            "jsonPath": "cr:jsonPath",
            "key": "cr:key",
            "md5": "cr:md5",
            "parentField": "cr:parentField",
            "path": "cr:path",
            "recordSet": "cr:recordSet",
            "references": "cr:references",
            "regex": "cr:regex",
            "repeated": "cr:repeated",
            "replace": "cr:replace",
            "samplingRate": "cr:samplingRate",
            "separator": "cr:separator",
            "source": "cr:source",
            "subField": "cr:subField",
            "transform": "cr:transform",
        },
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": dataset["slug"],
        "description": f"{dataset['name']}: a {dataset['kind']} dataset of the data DAO "
        f"{dataset['dao']} ({dataset['dao_id']}).",
        "license": dataset.get("license") or "",
        "url": f"datadao:{dataset['dao_id']}/{dataset['slug']}",
    }
    if shard_sha256 is None:
        doc["distribution"] = []
        return doc
    doc["distribution"] = [
        {
            "@type": "cr:FileObject",
            "@id": "data-shard",
            "name": "data-shard",
            "contentUrl": DATA_PATH,
            "encodingFormat": "application/x-parquet",
            "sha256": shard_sha256,
        }
    ]
    doc["recordSet"] = [
        {
            "@type": "cr:RecordSet",
            "@id": "default",
            "name": "default",
            "field": [
                {
                    "@type": "cr:Field",
                    "@id": f"default/{name}",
                    "name": name,
                    "dataType": data_type,
                    "source": {"fileObject": {"@id": "data-shard"}, "extract": {"column": name}},
                }
                for name, _, data_type in columns
            ],
        }
    ]
    return doc


def croissant_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"
