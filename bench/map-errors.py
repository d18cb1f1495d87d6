#!/usr/bin/env python3
"""Where a set of CAM/ReCAM maps goes wrong, at its best background threshold.

Reads the maps make-cam/make-recam write (<id>.npz with keys and high_res) and the VOC-layout masks, sweeps the background
threshold like eval-cam, and at the best one splits the errors: ground-truth foreground labelled background (missed) or
another class (wrong class), background labelled foreground, how many class maps peak on an object of another class, which
class pairs take most of the wrong-class pixels, and the score with no wrong-class pixels (what class identity costs).
Not shipped; used for the README's "Where the gain comes from". Needs numpy and Pillow (Debian: python3-numpy python3-pil).

Usage: bench/map-errors.py VOC_ROOT SPLIT_FILE MAPS_DIR [MAPS_DIR ...]
"""
import sys

import numpy as np
from PIL import Image


def seeds(keys, maps, threshold):
    planes = np.concatenate([np.full((1,) + maps.shape[1:], threshold, np.float32), maps], 0)
    return np.concatenate([[0], keys + 1])[planes.argmax(0)]


def confusion(masks, map_sets, threshold, labels, true_identity=False):
    total = np.zeros((labels, labels), np.int64)
    for gt, (keys, maps) in zip(masks, map_sets):
        pred = seeds(keys, maps, threshold)
        if true_identity:
            # Foreground stays foreground, but a pixel on an object of a class the image has takes that class: what the
            # maps would score if no pixel went to the wrong class (the bound on what fixing class identity can buy).
            pred = np.where((pred > 0) & np.isin(gt, keys + 1), gt, pred)
        valid = gt != 255
        total += np.bincount(gt[valid].astype(np.int64) * labels + pred[valid], minlength=labels * labels).reshape(labels, labels)
    return total


def miou(m):
    tp = np.diag(m)
    with np.errstate(invalid="ignore"):
        return np.nanmean(tp / (m.sum(0) + m.sum(1) - tp))


def best(masks, map_sets, labels, true_identity=False):
    """(mIoU, threshold) at the best threshold of eval-cam's sweep."""
    return max((miou(confusion(masks, map_sets, t, labels, true_identity)), t) for t in np.round(np.arange(0.05, 0.61, 0.01), 2))


def main(root, split, dirs):
    ids = [line.strip() for line in open(split) if line.strip()]
    names = [line.strip() for line in open(f"{root}/classes.txt") if line.strip()]
    labels = 1 + len(names)
    masks = [np.array(Image.open(f"{root}/SegmentationClass/{i}.png")) for i in ids]
    for d in dirs:
        map_sets = []
        for i in ids:
            with np.load(f"{d}/{i}.npz") as z:
                map_sets.append((z["keys"], z["high_res"]))
        score, threshold = best(masks, map_sets, labels)
        m = confusion(masks, map_sets, threshold, labels)
        fg = m[1:, :].sum()
        wrong = m[1:, 1:].sum() - np.trace(m[1:, 1:])
        peaks = [gt[np.unravel_index(mk.argmax(), mk.shape)] for gt, (keys, maps) in zip(masks, map_sets) for mk in maps]
        owners = [k + 1 for _, (keys, _) in zip(masks, map_sets) for k in keys]
        other = sum(1 for p, k in zip(peaks, owners) if p not in (0, 255, k))
        print(f"{d}: best mIoU {100 * score:.2f} at {threshold:.2f}; of the foreground: missed {m[1:, 0].sum() / fg:.3f}, "
              f"wrong class {wrong / fg:.3f}; background labelled foreground {m[0, 1:].sum() / fg:.3f} of the foreground's count; "
              f"class maps peaking on another class's object {other}/{len(peaks)} ({other / max(len(peaks), 1):.3f})")
        bound, bound_t = best(masks, map_sets, labels, true_identity=True)
        print(f"  with every foreground pixel on an object of the image's classes given its true class: best {100 * bound:.2f} at {bound_t:.2f}")
        # Fashion-MNIST's look-alike groups: upper-body garments and footwear.
        groups = [{"t-shirt", "pullover", "coat", "shirt", "dress"}, {"sandal", "sneaker", "ankle-boot"}]
        alike = sum(m[g, p] for g in range(1, labels) for p in range(1, labels)
                    if g != p and any(names[g - 1] in grp and names[p - 1] in grp for grp in groups))
        print(f"  wrong class within a look-alike group (tops; footwear): {alike / max(wrong, 1):.2f} of the wrong-class pixels")
        pairs = sorted(((m[g, p], g, p) for g in range(1, labels) for p in range(1, labels) if g != p), reverse=True)
        print("  wrong class, largest (truth -> labelled, share of the wrong-class pixels): " + ", ".join(
            f"{names[g - 1]} -> {names[p - 1]} {n / max(wrong, 1):.2f}" for n, g, p in pairs[:6]))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
