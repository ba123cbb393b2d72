"""Backup sets on disk: one folder per set, ``aftersales-<UTC time>``, holding a copy of each
store, ``manifest.json`` and ``SHA256SUMS`` (``sha256sum -c SHA256SUMS`` checks it by hand).

A set is written under ``.<name>.partial`` and renamed when complete, so a folder with the
set's name is always a whole set.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ops import stores

FORMAT = "aftersales-backup/1"
PREFIX = "aftersales-"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"


def new_name(now: datetime) -> str:
    return PREFIX + now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    files = [store["file"] for store in manifest["stores"].values()] + [MANIFEST]
    (folder / SUMS).write_text("".join(f"{sha256(folder / name)}  {name}\n" for name in files), encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def verify(folder: Path) -> list[str]:
    """What is wrong with a set; empty when it can be restored."""
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    problems: list[str] = []
    for name in (MANIFEST, SUMS):
        if not (folder / name).is_file():
            problems.append(f"{name} is missing")
    if problems:
        return problems
    sums: dict[str, str] = {}
    for line in (folder / SUMS).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            sums[name] = digest
    if MANIFEST not in sums:
        problems.append(f"{SUMS} does not cover {MANIFEST}")
    for name, digest in sums.items():
        path = folder / name
        if "/" in name or not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256(path) != digest:
            problems.append(f"{name}: checksum mismatch (the file changed after the backup)")
    if problems:
        return problems
    try:
        manifest = read_manifest(folder)
        entries = manifest["stores"]
        order = manifest["order"]
        assert manifest["format"] == FORMAT, f"unknown format {manifest.get('format')!r}"
        assert stores.CASE_FILE in entries and len(entries) >= 2, "the set must hold the case file and Temporal's store"
        assert sorted(order) == sorted(entries), "order and stores differ"
        datetime.fromisoformat(manifest["taken_at"])
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        return [f"{MANIFEST} is not a backup manifest: {exc}"]
    for name, entry in entries.items():
        file = entry.get("file", "")
        if sums.get(file) != entry.get("sha256"):
            problems.append(f"{name}: the manifest's checksum is not the one in {SUMS}")
            continue
        problem = stores.check_copy(entry.get("kind", ""), folder / file)
        if problem:
            problems.append(f"{name}: {problem}")
            continue
        counted = stores.copy_row_counts(entry["kind"], folder / file)
        if counted is not None and counted != entry.get("rows"):
            problems.append(f"{name}: the copy's row counts differ from the manifest's")
    return problems


def complete_sets(root: Path) -> list[Path]:
    """The whole sets in a backups folder, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / MANIFEST).is_file())


def resolve(path: Path) -> Path:
    """A set, or a backups folder's newest set."""
    if (path / MANIFEST).exists() or not path.is_dir():
        return path
    found = complete_sets(path)
    return found[-1] if found else path


def taken_at(folder: Path) -> datetime | None:
    try:
        return datetime.fromisoformat(read_manifest(folder)["taken_at"])
    except (OSError, ValueError, KeyError):
        return None


def prune(root: Path, keep_days: float, now: datetime) -> list[Path]:
    """Delete sets older than ``keep_days``, never the newest one, and abandoned partial
    sets older than a day. Returns what was deleted."""
    removed = []
    cutoff = now - timedelta(days=keep_days)
    for folder in complete_sets(root)[:-1]:
        when = taken_at(folder)
        if when is not None and when < cutoff:
            shutil.rmtree(folder)
            removed.append(folder)
    for partial in root.glob(f".{PREFIX}*.partial") if root.is_dir() else []:
        if datetime.fromtimestamp(partial.stat().st_mtime, UTC) < now - timedelta(days=1):
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
    return removed
