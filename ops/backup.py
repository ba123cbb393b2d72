"""Back up and restore the case file and Temporal's store together, so that they come back
consistent (security review P2, R7).

    python -m ops.backup backup   [--dir DIR]                 # one set: both stores, manifest, checksums
    python -m ops.backup verify   SET|DIR [--max-age 26h]     # exit 1 on a bad (or too old) set
    python -m ops.backup restore  SET|DIR [--gap 1000]        # the product stopped; then start it
    python -m ops.backup prune    [--dir DIR] --keep-days 14
    python -m ops.backup schedule [--dir DIR] --every 6h --keep-days 14    # the compose service

(``aftersales-backup`` once installed.) The stores default to the product's settings: the
case file at ``AFTERSALES_DATABASE_URL`` (else ``make run``'s ``.data/aftersales.db``) and
Temporal's store beside it (the dev server's ``.data/temporal.db``, or the ``temporal`` and
``temporal_visibility`` databases on the case file's PostgreSQL server); ``--case-file`` and
``--temporal`` (or ``BACKUP_CASE_FILE_URL`` and ``BACKUP_TEMPORAL_URLS``, comma-separated) name
them instead. README: "Backups and restore".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops import numbers, sets, stores
from ops.numbers import Known
from ops.stores import CASE_FILE, Store, StoreError

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_DAYS = 40  # the case counters a manifest keeps: enough for any later restore's floor
UNRECORDED_MARGIN = timedelta(minutes=10)


class Refused(Exception):
    """The command will not run: the message says why and what to do."""


def data_dir() -> Path:
    path = Path(os.environ.get("AFTERSALES_DATA_DIR") or ROOT / ".data")  # as settings.py
    return path if path.is_absolute() else Path.cwd() / path


def configured_stores(case_file: str | None = None, temporal: list[str] | None = None) -> list[Store]:
    """The stores in backup order: Temporal's first, the case file last (see ``backup``)."""
    url = (case_file or os.environ.get("BACKUP_CASE_FILE_URL") or os.environ.get("AFTERSALES_DATABASE_URL")
           or f"sqlite:///{data_dir() / 'aftersales.db'}")
    casefile = Store.of(CASE_FILE, url)
    urls = temporal or [u.strip() for u in os.environ.get("BACKUP_TEMPORAL_URLS", "").split(",") if u.strip()]
    if urls:
        found = [Store.of("temporal", u) for u in urls]
        found = [Store.of(s.database if s.kind == "postgresql" else "temporal" if len(urls) == 1 else s.path.stem, s.url)
                 for s in found]
    elif casefile.kind == "sqlite":
        found = [Store.of("temporal", str(data_dir() / "temporal.db"))]  # run.py's --db-filename
    else:  # docker-compose.yml: Temporal's two databases on the same server
        found = [casefile.sibling("temporal", "temporal"), casefile.sibling("temporal_visibility", "temporal_visibility")]
    names = [s.name for s in found] + [CASE_FILE]
    if len(set(names)) != len(names):
        raise Refused(f"two stores would share a name: {names}")
    return [*found, casefile]


def backup(order: list[Store], root: Path) -> Path:
    """Take one set. Returns its folder."""
    root.mkdir(parents=True, exist_ok=True)
    name = sets.new_name(datetime.now(UTC))
    suffix = 0
    while (root / name).exists() or (root / f".{name}.partial").exists():
        suffix += 1
        name = f"{sets.new_name(datetime.now(UTC))}-{suffix}"
    partial = root / f".{name}.partial"
    partial.mkdir()
    try:
        with contextlib.ExitStack() as stack:
            # ORDER: Temporal's store first, the case file right after. A case (or project)
            # is written to the case file before its workflow starts, so a case file copied
            # after Temporal's store knows every number that has a workflow in the copy, and
            # the restored counters continue past all of them. An intake arriving between
            # the two snapshots (milliseconds: the snapshots are taken back to back, the
            # slow dumps after) is only in the case file; after a restore the API's repair
            # pass starts its workflow. The other order would restore workflows whose case
            # the case file never had, and their numbers would be given again (R7).
            snaps = [stack.enter_context(contextlib.closing(stores.Snapshot(s, partial / s.filename))) for s in order]
            for snap in snaps:
                snap.dump()
            manifest = _manifest(name, snaps)
        sets.write_manifest(partial, manifest)
        problems = sets.verify(partial)
        if problems:
            raise StoreError("the new set does not verify: " + "; ".join(problems))
        partial.rename(root / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return root / name


def _manifest(name: str, snaps: list[stores.Snapshot]) -> dict:
    entries, case_file, temporal = {}, Known(), Known()
    revision = None
    for snap in snaps:
        store, conn = snap.store, snap.conn
        entry = {"kind": store.kind, "database": store.database, "source": store.public, "file": store.filename,
                 "snapshot_at": snap.taken_at.isoformat(), "server_version": snap.server_version,
                 "rows": conn.row_counts()}
        if store.name == CASE_FILE:
            if "alembic_version" in entry["rows"]:
                revision = entry["alembic_revision"] = next(iter(conn.rows("SELECT version_num FROM alembic_version")), [None])[0]
            case_file = numbers.of_case_file(conn)
        else:
            temporal.merge(numbers.of_workflows(numbers.workflow_ids(conn) or set()))
        entries[store.name] = entry
    for snap in snaps:  # after the dumps are written
        entry = entries[snap.store.name]
        entry["bytes"], entry["sha256"] = snap.dest.stat().st_size, sets.sha256(snap.dest)
    first = snaps[0].taken_at.astimezone(UTC)
    recent = (first - timedelta(days=MANIFEST_DAYS)).strftime("%Y%m%d")
    both = Known().merge(case_file).merge(temporal)

    def trimmed(known: Known) -> dict:
        data = known.to_json()
        data["days"] = {d: n for d, n in data["days"].items() if d >= recent}
        return data

    return {
        "format": sets.FORMAT, "name": name,
        "taken_at": first.isoformat(),  # Temporal's snapshot: the instant the set stands for
        "finished_at": datetime.now(UTC).isoformat(),
        "order": [snap.store.name for snap in snaps],
        "alembic_revision": revision,
        "max_case_no": both.max_case_no, "max_project_id": both.max_project_id,
        "stores": entries,
        "numbers": {"case_file": trimmed(case_file), "temporal": trimmed(temporal)},
    }


@dataclass
class Restored:
    folder: Path
    case_floors: dict[str, int]
    project_floor: int
    read_before: list[str]
    restarted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # stores whose restored rows differ from the manifest's


def restore(path: Path, order: list[Store], gap: int = numbers.GAP) -> Restored:
    """Restore both stores from one set, then raise the numbering past every number given."""
    folder = sets.resolve(path)
    problems = sets.verify(folder)
    if problems:
        raise Refused(f"{folder} does not verify, nothing was restored: " + "; ".join(problems))
    manifest = sets.read_manifest(folder)
    targets = {s.name: s for s in order}
    if set(targets) != set(manifest["stores"]):
        raise Refused(f"the set holds {sorted(manifest['stores'])}, the targets are {sorted(targets)}: "
                      "name the stores with --case-file and --temporal")
    for name, entry in manifest["stores"].items():
        if entry["kind"] != targets[name].kind:
            raise Refused(f"{name}: the set holds a {entry['kind']} copy, the target is {targets[name].kind}")
    busy = {name: who for name, store in targets.items() if (who := stores.users(store))}
    if busy:
        raise Refused("the product is still running (stop the API, the worker, Temporal and the backup "
                      "schedule first): " + "; ".join(f"{n} is in use by {', '.join(w)}" for n, w in busy.items()))
    taken = datetime.fromisoformat(manifest["taken_at"])

    known, read_before = Known(), []
    for name, store in targets.items():  # the old stores, while they are still there
        with contextlib.suppress(Exception), stores.connect(store) as conn:
            if conn is not None:
                known.merge(_known(name, conn)[0])
                read_before.append(name)
    for other in sets.complete_sets(folder.parent):  # what later (and earlier) sets knew
        with contextlib.suppress(Exception):
            for part in sets.read_manifest(other)["numbers"].values():
                known.merge(Known.from_json(part))

    for name in manifest["order"]:  # Temporal's first, the case file last, as taken
        entry = manifest["stores"][name]
        stores.restore(targets[name], folder / entry["file"], entry["database"])

    result = Restored(folder, {}, 0, read_before)
    ids: set[str] | None = None
    for name in manifest["order"]:
        with stores.connect(targets[name]) as conn:
            if conn is None:
                raise StoreError(f"{name}: cannot open the restored store")
            if conn.row_counts() != manifest["stores"][name]["rows"]:
                result.mismatched.append(name)
            restored, found = _known(name, conn)
            known.merge(restored)
            if found is not None:
                ids = (ids or set()) | found
    now = datetime.now(UTC)
    result.case_floors, result.project_floor = numbers.floors(known, taken, now, gap)
    with stores.connect(targets[CASE_FILE]) as conn:
        numbers.raise_counters(conn, result.case_floors, result.project_floor, set_name=folder.name,
                               taken_at=taken, now=now, gap=gap)
        if ids is None:
            result.warnings.append("Temporal's store has no workflow table we know: cases opened "
                                   "between the two snapshots were not checked")
        else:
            result.restarted = numbers.restart_unrecorded(conn, ids, taken - UNRECORDED_MARGIN)
    return result


def _known(name: str, conn: stores.Conn) -> tuple[Known, set[str] | None]:
    if name == CASE_FILE:
        return numbers.of_case_file(conn), None
    ids = numbers.workflow_ids(conn)
    return numbers.of_workflows(ids or set()), ids


def duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 6h, 14d)")
    unit = {"s": "seconds", "": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: float(match.group(1))})


def schedule(order: list[Store], root: Path, every: timedelta, keep_days: float) -> None:
    """Back up every ``every`` and prune, until SIGTERM. A failed backup is retried in 5 minutes."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"backing up every {every} into {root}, keeping {keep_days:g} days", flush=True)
    while not stop.is_set():
        wait = every.total_seconds()
        try:
            folder = backup(order, root)
            print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} backed up: {folder}", flush=True)
            for gone in sets.prune(root, keep_days, datetime.now(UTC)):
                print(f"pruned {gone}", flush=True)
        except Exception as exc:
            print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} backup FAILED: {exc}", file=sys.stderr, flush=True)
            wait = min(wait, 300)
        stop.wait(wait)


def _print_restored(result: Restored) -> None:
    print(f"restored {result.folder}")
    print("  old stores read before the restore: " + (", ".join(result.read_before) or "none (the known numbers are the sets')"))
    print("  case numbers resume after: " + ", ".join(f"{d}-{n:04d}" for d, n in result.case_floors.items()))
    print(f"  project ids resume after: PJ{result.project_floor:06d}")
    if result.restarted:
        print("  opened between the snapshots, started again by the API's repair pass: " + ", ".join(result.restarted))
    for warning in result.warnings:
        print(f"  WARNING: {warning}")
    if result.mismatched:
        print(f"ERROR: the restored row counts of {', '.join(result.mismatched)} differ from the manifest's: "
              "do not start the product; restore again, or from another set", file=sys.stderr)
        return
    print("start the product now (the API's repair pass starts the workflows of cases recorded without one)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aftersales-backup", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def with_stores(p: argparse.ArgumentParser) -> None:
        p.add_argument("--case-file", help="the case file's URL (default: the product's settings)")
        p.add_argument("--temporal", action="append", help="a Temporal store: PostgreSQL URL or SQLite file (repeatable)")

    default_dir = Path(os.environ.get("BACKUP_DIR") or data_dir() / "backups")
    p = commands.add_parser("backup", help="take one set of both stores")
    with_stores(p)
    p.add_argument("--dir", type=Path, default=default_dir)
    p = commands.add_parser("restore", help="restore both stores from a set (the product stopped)")
    with_stores(p)
    p.add_argument("set", type=Path, help="a set, or a backups folder (its newest set)")
    p.add_argument("--gap", type=int, default=numbers.GAP, help="numbers left out after the highest known (default 1000)")
    p = commands.add_parser("verify", help="check a set: manifest, checksums, readable copies")
    p.add_argument("set", type=Path, help="a set, or a backups folder (its newest set)")
    p.add_argument("--max-age", type=duration, help="also fail when the set is older than this")
    p = commands.add_parser("prune", help="delete sets older than --keep-days (never the newest)")
    p.add_argument("--dir", type=Path, default=default_dir)
    p.add_argument("--keep-days", type=float, default=float(os.environ.get("BACKUP_KEEP_DAYS", "14")))
    p = commands.add_parser("schedule", help="back up every --every and prune, until stopped")
    with_stores(p)
    p.add_argument("--dir", type=Path, default=default_dir)
    p.add_argument("--every", type=duration, default=duration(os.environ.get("BACKUP_EVERY", "6h")))
    p.add_argument("--keep-days", type=float, default=float(os.environ.get("BACKUP_KEEP_DAYS", "14")))
    args = parser.parse_args(argv)

    try:
        if args.command == "backup":
            print(backup(configured_stores(args.case_file, args.temporal), args.dir))
        elif args.command == "restore":
            result = restore(args.set, configured_stores(args.case_file, args.temporal), args.gap)
            _print_restored(result)
            if result.mismatched:
                return 1
        elif args.command == "verify":
            folder = sets.resolve(args.set)
            problems = sets.verify(folder)
            when = sets.taken_at(folder)
            if not problems and args.max_age and when and datetime.now(UTC) - when > args.max_age:
                problems.append(f"taken at {when:%Y-%m-%d %H:%M}Z, older than {args.max_age}")
            for problem in problems:
                print(f"{folder}: {problem}", file=sys.stderr)
            if problems:
                return 1
            print(f"{folder}: OK (taken at {when.isoformat()})")
        elif args.command == "prune":
            for gone in sets.prune(args.dir, args.keep_days, datetime.now(UTC)):
                print(f"pruned {gone}")
        elif args.command == "schedule":
            schedule(configured_stores(args.case_file, args.temporal), args.dir, args.every, args.keep_days)
    except (Refused, StoreError) as exc:
        print(f"aftersales-backup: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
