"""gateway.image_import: ``draftgate images import`` on a real folder and a real SQLite file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from image_helpers import bomb_png
from image_samples import TRANSFORMS, encode, load_photo, photo_paths

from gateway import audit
from gateway.cli import main
from gateway.image_import import ProgressBar, import_folder
from gateway.image_registry import ImageRegistry
from gateway.images import inspect_image
from gateway.store import Store

pytest.importorskip("skimage")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    paths = photo_paths()
    d = tmp_path / "pictures"
    d.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        (d / f"{name}.jpg").write_bytes(encode(load_photo(paths[name]), "JPEG", quality=90))
    (d / "coffee-copy.png").write_bytes(TRANSFORMS["to_png"]((d / "coffee.jpg").read_bytes()))
    (d / "broken.jpg").write_bytes((d / "chelsea.jpg").read_bytes()[:3000])
    (d / "bomb.png").write_bytes(bomb_png())
    (d / "notes.txt").write_text("not a picture, not even looked at")
    return d


def test_import_summary_and_durable_result(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "g.db"
    rc = main(["--db", str(db), "images", "import", str(folder), "--label-prefix", "agency/", "--status", "unlicensed"])
    out, err = capsys.readouterr()
    assert rc == 1  # some files were refused
    assert out.strip().splitlines()[-1] == "added 3, skipped as duplicate 1, refused 2"
    assert "refused bomb.png:" in out and "decompression bomb" in out
    assert "refused broken.jpg:" in out
    assert "duplicate coffee.jpg" in out or "duplicate coffee-copy.png" in out
    assert "6/6" in err  # the progress bar reached the end

    store = Store(db)
    try:
        reg = ImageRegistry(store)
        labels = sorted(r["label"] for r in reg.list())
        assert labels == ["agency/astronaut", "agency/chelsea", "agency/coffee"] or labels == [
            "agency/astronaut", "agency/chelsea", "agency/coffee-copy"]
        assert all(r["created_by"] == "cli" for r in reg.list())
        assert len([e for e in audit.entries(store) if e["action"] == "image.register"]) == 3
    finally:
        store.close()

    # a second run skips everything already there
    rc = main(["--db", str(db), "images", "import", str(folder), "--status", "unlicensed"])
    out, _ = capsys.readouterr()
    assert out.strip().splitlines()[-1] == "added 0, skipped as duplicate 4, refused 2"


def test_licensed_import_and_argument_checks(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "g.db")
    assert main(["--db", db, "images", "import", str(folder), "--status", "unlicensed", "--licensed-to", "acc"]) == 2
    assert main(["--db", db, "images", "import", str(tmp_path / "missing"), "--status", "unlicensed"]) == 2
    main(["--db", db, "images", "import", str(folder), "--status", "licensed", "--licensed-to", "acc", "acc2"])
    capsys.readouterr()
    assert main(["--db", db, "images", "list", "--status", "licensed"]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert len(listed) == 3 and all('"licensed_to": ["acc", "acc2"]' in line for line in listed)


def test_running_registry_picks_up_imports_from_another_process(folder: Path, tmp_path: Path) -> None:
    server_store = Store(tmp_path / "g.db")
    running = ImageRegistry(server_store, {"sync_interval": 0})
    query = inspect_image(TRANSFORMS["mirror"]((folder / "astronaut.jpg").read_bytes()))
    assert running.match(query) == []

    cli_store = Store(tmp_path / "g.db")  # a second connection, as the CLI process has
    summary = import_folder(ImageRegistry(cli_store), folder, label_prefix="", status="unlicensed",
                            licensed_to=[], actor="cli")
    assert len(summary.added) == 3
    (hit,) = running.match(query)
    assert hit.image["label"] == "astronaut"

    ImageRegistry(cli_store).remove(hit.image["id"], actor="cli")
    assert running.match(query) == []
    cli_store.close()
    server_store.close()


def test_progress_bar_without_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar(40, out)
    from gateway.image_import import ImportSummary

    for i in range(1, 41):
        bar.update(i, ImportSummary())
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 12  # about every 10%, not a line per file
    assert lines[-1].startswith("[" + "#" * 30 + "] 40/40")
