"""Vendor the part of Twilio's OpenAPI description that duecall's contract tests check against.

Reads Twilio's ``twilio_api_v2010.json`` (from twilio/twilio-oai, ``spec/json/``) and the
upstream LICENSE from ``--source-dir``, a directory holding both that you download yourself (the
repository keeps only the subset), keeps the Calls, Messages, Queues, Queue Members, Conferences
and Participants paths with every component schema they reference, and writes them unchanged to
``tests/contract/twilio_api_v2010_subset.json`` beside a copy of the upstream LICENSE.
The output is deterministic (sorted keys, fixed indentation), so re-running it on the same
source changes nothing and a new upstream version shows up as a reviewable diff.

    python scripts/vendor_twilio_spec.py --source-dir DIR           # write subset + LICENSE
    python scripts/vendor_twilio_spec.py --source-dir DIR --check   # exit 1 if they are stale

The subset is copied as Twilio publishes it; the contract checker tightens it at load time
(see ``tests/contract/README.md``), so every deviation from upstream is visible in test code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT_DIR = REPO / "tests" / "contract"
SPEC_NAME = "twilio_api_v2010.json"
SUBSET_NAME = "twilio_api_v2010_subset.json"

# Upstream provenance, recorded in the subset as info.x-duecall-vendored.
UPSTREAM = {
    "repository": "https://github.com/twilio/twilio-oai",
    "path": "spec/json/twilio_api_v2010.json",
    "commit": "d50069b44ea8cd23141385bdb6db48f16ff75bb5",
    "tag": "2.6.7",
}

PATHS = (
    "/2010-04-01/Accounts/{AccountSid}/Calls.json",
    "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Queues.json",
    "/2010-04-01/Accounts/{AccountSid}/Queues/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Queues/{QueueSid}/Members.json",
    "/2010-04-01/Accounts/{AccountSid}/Queues/{QueueSid}/Members/{CallSid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{Sid}.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json",
    "/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json",
)

_REF_PREFIX = "#/components/schemas/"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith(_REF_PREFIX):
                raise ValueError(f"unsupported $ref {ref!r}")
            yield ref.removeprefix(_REF_PREFIX)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _tags(paths: dict[str, Any]) -> set[str]:
    return {
        tag
        for item in paths.values()
        for operation in item.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    }


def build_subset(spec: dict[str, Any], source_sha256: str) -> dict[str, Any]:
    """Return the subset of ``spec``: the chosen paths and the closure of their references."""
    missing = [path for path in PATHS if path not in spec["paths"]]
    if missing:
        raise KeyError(f"paths not in the source description: {missing}")
    paths = {path: spec["paths"][path] for path in PATHS}

    schemas = spec["components"]["schemas"]
    keep: set[str] = set()
    pending = list(_refs(paths))
    while pending:
        name = pending.pop()
        if name in keep:
            continue
        keep.add(name)
        pending.extend(_refs(schemas[name]))

    used_tags = _tags(paths)
    info = dict(spec["info"])
    info["x-duecall-vendored"] = {
        **UPSTREAM,
        "source_sha256": source_sha256,
        "paths": list(PATHS),
        "made_by": "scripts/vendor_twilio_spec.py",
    }
    subset: dict[str, Any] = {
        "openapi": spec["openapi"],
        "info": info,
        "servers": spec["servers"],
        "security": spec.get("security", []),
        "tags": [tag for tag in spec.get("tags", []) if tag.get("name") in used_tags],
        "paths": paths,
        "components": {
            "securitySchemes": spec["components"].get("securitySchemes", {}),
            "schemas": {name: schemas[name] for name in sorted(keep)},
        },
    }
    return subset


def render(subset: dict[str, Any]) -> str:
    """The subset as written to disk: deterministic bytes for the same input."""
    return json.dumps(subset, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source-dir",
        type=Path,
        required=True,
        help=f"directory holding Twilio's {SPEC_NAME} and twilio-oai's LICENSE",
    )
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument(
        "--check", action="store_true", help="compare with the vendored files, write nothing"
    )
    args = parser.parse_args(argv)

    raw = (args.source_dir / SPEC_NAME).read_bytes()
    subset_text = render(build_subset(json.loads(raw), hashlib.sha256(raw).hexdigest()))
    license_text = (args.source_dir / "LICENSE").read_text(encoding="utf-8")
    outputs = {
        args.output_dir / SUBSET_NAME: subset_text,
        args.output_dir / "LICENSE": license_text,
    }

    if args.check:
        stale = [
            str(path)
            for path, text in outputs.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0

    args.output_dir.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text.encode('utf-8')):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
