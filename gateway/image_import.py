"""``draftgate images``: bulk registration of a folder of known pictures, listing, removal.

``draftgate [--db PATH] images import DIR --label-prefix P --status S
[--licensed-to ACC ...] [--actor ID] [--recursive]`` registers every picture
file in DIR (``.jpg .jpeg .png .gif .webp .bmp``) with the label
``P + file stem``, showing a progress bar on stderr, and ends with a summary
of what was added, skipped as a duplicate (of a registered picture or of an
earlier file in the same folder) and refused (with the reason). Hashing runs
on a few threads; each registration is its own audited transaction, so an
interrupted import keeps what it added and a re-run skips it.

A running gateway picks the new registrations up within its sync interval
(it follows the audit log), without a restart.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gateway.cli import _open_store, register_command
from gateway.image_registry import (
    STATUSES,
    DuplicateImage,
    ImageRegistry,
    RegistryError,
)
from gateway.images import ImageError

EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"}


@dataclass
class ImportSummary:
    added: list[tuple[str, str]] = field(default_factory=list)  # (file, image id)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, existing id)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.duplicates) + len(self.refused)

    def line(self) -> str:
        return (f"added {len(self.added)}, skipped as duplicate {len(self.duplicates)}, "
                f"refused {len(self.refused)}")


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; occasional lines otherwise (logs, CI)."""

    def __init__(self, total: int, out: TextIO, width: int = 30) -> None:
        self.total, self.out, self.width = total, out, width
        self.tty = out.isatty()
        self.started = time.monotonic()
        self._last_line = -1

    def update(self, done: int, summary: ImportSummary) -> None:
        fraction = done / self.total if self.total else 1.0
        filled = int(fraction * self.width)
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        text = (f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} "
                f"{rate:5.1f}/s  {summary.line()}")
        if self.tty:
            self.out.write("\r" + text)
            if done == self.total:
                self.out.write("\n")
        else:
            step = max(1, self.total // 10)
            if done == self.total or done // step != self._last_line:
                self._last_line = done // step
                self.out.write(text + "\n")
        self.out.flush()


def picture_files(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")
    )


def import_folder(
    registry: ImageRegistry,
    folder: Path,
    *,
    label_prefix: str,
    status: str,
    licensed_to: list[str],
    actor: str | None,
    recursive: bool = False,
    workers: int = 2,
    progress: TextIO | None = None,
) -> ImportSummary:
    """Register every picture file in ``folder``; never stops on one bad file."""
    files = picture_files(folder, recursive)
    summary = ImportSummary()
    bar = ProgressBar(len(files), progress) if progress is not None else None

    def one(path: Path) -> tuple[Path, str, str]:
        try:
            data = path.read_bytes()
            image = registry.add(data, label=f"{label_prefix}{path.stem}", status=status,
                                 licensed_to=licensed_to, actor=actor)
            return path, "added", image["id"]
        except DuplicateImage as e:
            return path, "duplicate", e.existing["id"]
        except (ImageError, RegistryError, OSError) as e:
            return path, "refused", str(e)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="draftgate-import") as pool:
        for done, (path, outcome, detail) in enumerate(pool.map(one, files), start=1):
            name = str(path.relative_to(folder))
            {"added": summary.added, "duplicate": summary.duplicates, "refused": summary.refused}[outcome].append(
                (name, detail)
            )
            if bar:
                bar.update(done, summary)
    return summary


# -- the subcommand ------------------------------------------------------------------


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="images_cmd", required=True)
    imp = sub.add_parser("import", help="register every picture in a folder")
    imp.add_argument("folder", type=Path)
    imp.add_argument("--label-prefix", default="", help="prepended to each file's stem to make its label")
    imp.add_argument("--status", required=True, choices=STATUSES)
    imp.add_argument("--licensed-to", nargs="*", default=[], metavar="ACCOUNT")
    imp.add_argument("--actor", default="cli", help="who the audit log names (default: cli)")
    imp.add_argument("--recursive", action="store_true")
    imp.add_argument("--workers", type=int, default=2)
    imp.add_argument("--json", action="store_true", help="print the full summary as JSON")
    ls = sub.add_parser("list", help="list registered images")
    ls.add_argument("--status", choices=STATUSES)
    rm = sub.add_parser("remove", help="remove a registered image")
    rm.add_argument("id")
    rm.add_argument("--actor", default="cli")


def _run(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        registry = ImageRegistry(store)
        if args.images_cmd == "list":
            for image in registry.list(args.status):
                print(json.dumps(image, ensure_ascii=False))
            return 0
        if args.images_cmd == "remove":
            if not registry.remove(args.id, actor=args.actor):
                print(f"no registered image {args.id!r}", file=sys.stderr)
                return 1
            print(f"removed {args.id}")
            return 0
        if not args.folder.is_dir():
            print(f"{args.folder} is not a folder", file=sys.stderr)
            return 2
        if args.status != "licensed" and args.licensed_to:
            print("--licensed-to is only for --status licensed", file=sys.stderr)
            return 2
        summary = import_folder(
            registry, args.folder, label_prefix=args.label_prefix, status=args.status,
            licensed_to=args.licensed_to, actor=args.actor, recursive=args.recursive,
            workers=args.workers, progress=sys.stderr,
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps({"added": summary.added, "duplicates": summary.duplicates, "refused": summary.refused},
                         ensure_ascii=False))
    for name, reason in summary.refused:
        print(f"refused {name}: {reason}")
    for name, existing in summary.duplicates:
        print(f"duplicate {name}: already registered as {existing}")
    print(summary.line())
    return 0 if not summary.refused else 1


register_command("images", _configure, _run)
