"""``pip install .`` ships the built-in plugins and blocklists, under names that cannot clash."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_plugins_and_blocklists_without_a_top_level_plugins_package(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    [wheel] = tmp_path.glob("draftgate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "plugins" not in tops and "blocklists" not in tops
    assert {"gateway", "draftgate_plugins", "draftgate_blocklists"} <= tops
    for module in (ROOT / "plugins").glob("*.py"):
        assert f"draftgate_plugins/{module.name}" in names
    for blocklist in (ROOT / "blocklists").glob("*.txt"):
        assert f"draftgate_blocklists/{blocklist.name}" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[draftgate]" in entry_points and "outbox = draftgate_plugins.outbox" in entry_points
