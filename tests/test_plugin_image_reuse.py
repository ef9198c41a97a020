"""plugins/image_reuse: severities per status and account, evidence, registration as a plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from draftgate_plugins.image_reuse import ImageReuseChecker
from conftest import make_draft
from image_samples import TRANSFORMS

from gateway.image_registry import ImageRegistry
from gateway.model import Account, Draft, ImageInput, Permits, Severity
from gateway.plugins import make_plugin_manager
from gateway.store import Store

pytest.importorskip("skimage")


@pytest.fixture
def registry(tmp_path: Path, photos: dict[str, bytes]) -> ImageRegistry:
    store = Store(tmp_path / "g.db")
    reg = ImageRegistry(store)
    reg.add(photos["astronaut"], label="astronaut (agency photo)", status="unlicensed")
    reg.add(photos["coffee"], label="coffee (stock)", status="licensed", licensed_to=["acc"])
    reg.add(photos["chelsea"], label="school emblem", status="school_mark")
    yield reg
    store.close()


def account(id: str = "acc", school_marks: bool = False) -> Account:
    return Account(id=id, name="n", platform="wechat", unit="u", responsible="resp",
                   permits=Permits(school_marks=school_marks))


def draft(acc: Account, *images: bytes) -> Draft:
    return make_draft(acc, "t", "b", images=tuple(ImageInput(i, f"pic{i}.jpg", d) for i, d in enumerate(images)))


def test_unlicensed_blocks_with_evidence(registry: ImageRegistry, photos: dict[str, bytes]) -> None:
    checker = ImageReuseChecker(registry)
    unrelated = photos["rocket"]
    copy = TRANSFORMS["mirror"](photos["astronaut"])
    (finding,) = checker.check(draft(account(), unrelated, copy))
    assert (finding.checker, finding.rule, finding.severity) == ("image_reuse", "unlicensed_image", Severity.BLOCK)
    ev = finding.evidence
    astronaut_id = registry.list("unlicensed")[0]["id"]
    assert (ev["index"], ev["image_id"], ev["label"], ev["status"]) == (1, astronaut_id, "astronaut (agency photo)", "unlicensed")
    assert ev["distance"] == ev["phash_distance"] + ev["dhash_distance"]
    assert ev["orientation"] == "flip_h"
    assert "astronaut" in finding.message


def test_licensed_passes_for_holder_and_needs_review_elsewhere(registry: ImageRegistry, photos: dict[str, bytes]) -> None:
    checker = ImageReuseChecker(registry)
    copy = TRANSFORMS["resize_50"](photos["coffee"])
    (own,) = checker.check(draft(account("acc"), copy))
    assert (own.rule, own.severity) == ("licensed_image", Severity.INFO)
    (other,) = checker.check(draft(account("acc2"), copy))
    assert (other.rule, other.severity) == ("licensed_to_other", Severity.REVIEW)
    assert other.evidence["licensed_to"] == ["acc"] and "acc" in other.message


def test_school_mark_needs_the_permit(registry: ImageRegistry, photos: dict[str, bytes]) -> None:
    checker = ImageReuseChecker(registry)
    copy = TRANSFORMS["caption_band"](photos["chelsea"])
    (without,) = checker.check(draft(account(school_marks=False), copy))
    assert (without.rule, without.severity) == ("school_mark", Severity.REVIEW)
    (with_permit,) = checker.check(draft(account(school_marks=True), copy))
    assert with_permit.severity is Severity.INFO


def test_clean_images_and_no_images(registry: ImageRegistry, photos: dict[str, bytes]) -> None:
    checker = ImageReuseChecker(registry)
    assert checker.check(draft(account(), photos["rocket"], photos["moon"])) == []
    assert checker.check(draft(account())) == []


def test_registered_through_the_entry_point() -> None:
    pm = make_plugin_manager()
    assert pm.get_plugin("image_reuse") is not None
    pm = make_plugin_manager(disabled=["image_reuse"])
    assert pm.get_plugin("image_reuse") is None
