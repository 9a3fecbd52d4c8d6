"""Export for long-term preservation: one folder per case with its page files and a ``manifest.json``.

    <folder>/<case number>/manifest.json      metadata (no personal data) and each file's name, sha256 and size
    <folder>/<case number>/m<material>-p<page>.<jpg|png>

A case already exported with the same manifest is written again (the export is idempotent); the manifest is written
last, so a folder with a manifest is complete. ``verify`` checks a folder's files against its manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.archive.store import Archive, Case

FORMAT = "hall-archive-case/1"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def manifest(case: Case, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": FORMAT, "case_number": case.case_number, "site_id": case.site_id, "matter": case.matter,
        "ticket_id": case.ticket_id, "state": case.state.value, "created_at": _iso(case.created_at),
        "submitted_at": _iso(case.submitted_at), "decided_at": _iso(case.decided_at), "decided_by": case.decided_by,
        "reason": case.reason, "citizen_ref": case.citizen_ref,
        "materials": [{"material": m.material, "commitment": m.commitment} for m in case.materials],
        "commitment": None if case.commitment_text is None else
        {"text": case.commitment_text, "at": _iso(case.commitment_at)},
        "files": files,
    }  # fmt: skip


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def export_case(archive: Archive, case: Case, folder: Path) -> Path:
    target = folder / case.case_number
    target.mkdir(parents=True, exist_ok=True)
    files = []
    for page in case.pages:
        data = archive.files.get(page.sha256) if page.stored_at is not None else None
        if data is None:
            continue
        suffix = "png" if data.startswith(b"\x89PNG") else "jpg"
        name = f"m{page.material:02d}-p{page.page:03d}.{suffix}"
        _write(target / name, data)
        files.append({"name": name, "material": page.material, "page": page.page, "shape": page.shape,
                      "sha256": page.sha256, "size": len(data)})  # fmt: skip
    body = json.dumps(manifest(case, files), ensure_ascii=False, indent=2).encode()
    _write(target / "manifest.json", body)
    return target


def export(archive: Archive, folder: Path, since: datetime | None = None) -> list[Path]:
    """Every case created since ``since`` (all without it), each in its folder."""
    written = []
    for number in archive.created_since(since):
        case = archive.get(number)
        if case is not None:
            written.append(export_case(archive, case, folder))
    return written


def verify(case_folder: Path) -> list[str]:
    """The problems of an exported case (empty: every file is there and matches its checksum)."""
    problems = []
    data = json.loads((case_folder / "manifest.json").read_text(encoding="utf-8"))
    for entry in data["files"]:
        path = case_folder / entry["name"]
        if not path.exists():
            problems.append(f"{entry['name']}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{entry['name']}: checksum differs")
    return problems
