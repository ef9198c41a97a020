"""Evaluate the image-reuse matcher: recall and false matches per transformation.

Every real photo bundled with the installed packages (see image_samples.py)
is registered exactly as the gateway registers one (crop variants included);
then every transformed copy is looked up exactly as the checker looks up a
draft image (all orientations). A copy counts as *found* when its own
original is among the matches, and as a *false match* for every other photo
it matches. Distinct originals are also looked up against each other.

    .venv/bin/python bench/image_eval.py [--phash N --combined N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from image_samples import TRANSFORMS, encode, load_photo, photo_paths

from gateway.image_index import ImageMatcher, Thresholds
from gateway.image_registry import DEFAULT_THRESHOLDS
from gateway.images import FrameHashes, inspect_image, registration_hashes


def query_frames(data: bytes) -> tuple[FrameHashes, ...]:
    return inspect_image(data).hashes


def main(argv: list[str] | None = None) -> int:
    default = DEFAULT_THRESHOLDS["unlicensed"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phash", type=int, default=default.phash)
    parser.add_argument("--combined", type=int, default=default.combined)
    args = parser.parse_args(argv)
    limit = Thresholds(args.phash, args.combined)

    started = time.perf_counter()
    photos = {name: encode(load_photo(path), "PNG") for name, path in photo_paths().items()}
    if len(photos) < 2:
        print("need scikit-image installed (pip install -e '.[test]')")
        return 2
    matcher = ImageMatcher(limit.phash)
    for name, data in photos.items():
        _, hashes = registration_hashes(data)
        matcher.add(name, [(h.variant, h.phash, h.dhash) for h in hashes])

    print(f"{len(photos)} real photos: {', '.join(photos)}")
    print(f"thresholds: pHash <= {limit.phash}, pHash+dHash <= {limit.combined}; "
          f"{matcher.entries} stored hashes, {sum(len(f.phash) for f in query_frames(next(iter(photos.values()))))} queried per image\n")
    print(f"{'transformation':24s} {'recall':>7s} {'false':>6s}  {'max dist':>8s}  missed")
    total_found = total = total_false = total_pairs = 0
    for name, transform in TRANSFORMS.items():
        found = false = 0
        worst = 0
        missed = []
        for photo, data in photos.items():
            matches = matcher.match(query_frames(transform(data)), limit)
            ids = {m.image_id for m in matches}
            if photo in ids:
                found += 1
                worst = max(worst, next(m.distance for m in matches if m.image_id == photo))
            else:
                missed.append(photo)
            false += len(ids - {photo})
        pairs = len(photos) * (len(photos) - 1)
        total_found += found
        total += len(photos)
        total_false += false
        total_pairs += pairs
        print(f"{name:24s} {found / len(photos):7.3f} {false / pairs:6.3f}  {worst:8d}  {', '.join(missed)}")

    # distinct originals against each other
    false = 0
    for photo, data in photos.items():
        ids = {m.image_id for m in matcher.match(query_frames(data), limit)}
        false += len(ids - {photo})
    pairs = len(photos) * (len(photos) - 1)
    total_pairs += pairs
    total_false += false
    print(f"{'distinct originals':24s} {'':7s} {false / pairs:6.3f}")
    print(f"\noverall recall {total_found / total:.3f} ({total_found}/{total}); "
          f"false-match rate {total_false / total_pairs:.4f} ({total_false}/{total_pairs} pairs); "
          f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
