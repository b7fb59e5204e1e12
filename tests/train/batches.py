"""Small deterministic training batches for the step/loop tests (no dataset needed).

Each example is a noise background with K textured rectangles; the template and the search
image show the same rectangles shifted, so a model can learn to find them.
"""

from __future__ import annotations

import numpy as np


def sot_batch(seed: int, batch: int, canvas=(64, 96), targets: int = 2, valid_targets=None):
    rng = np.random.default_rng(seed)
    h, w = canvas
    out = {k: [] for k in ("template_image", "template_boxes", "search_image", "search_boxes",
                           "box_valid")}
    for b in range(batch):
        patches = [rng.normal(size=(rng.integers(14, 26), rng.integers(14, 26), 3)) * 1.5 + 1.0
                   for _ in range(targets)]
        pair = []
        for _ in range(2):
            image = rng.normal(size=(h, w, 3)).astype(np.float32) * 0.3
            boxes = np.zeros((targets, 4), np.float32)
            for k, patch in enumerate(patches):
                ph, pw = patch.shape[:2]
                y = rng.integers(0, h - ph)
                x = rng.integers(0, w - pw)
                image[y:y + ph, x:x + pw] = patch
                boxes[k] = (x, y, x + pw, y + ph)
            pair.append((image, boxes))
        n_valid = targets if valid_targets is None else valid_targets[b]
        out["template_image"].append(pair[0][0])
        out["template_boxes"].append(pair[0][1])
        out["search_image"].append(pair[1][0])
        out["search_boxes"].append(pair[1][1])
        out["box_valid"].append(np.arange(targets) < n_valid)
    return {k: np.stack(v) for k, v in out.items()}


def reid_batch(seed: int, batch: int, canvas=(64, 96), boxes_per_image: int = 3,
               num_ids: int = 10):
    rng = np.random.default_rng(seed)
    sot = sot_batch(seed, batch, canvas, boxes_per_image)
    ids = rng.integers(-1, num_ids, size=(batch, boxes_per_image)).astype(np.int32)
    return {"image": sot["search_image"], "boxes": sot["search_boxes"], "ids": ids,
            "box_valid": sot["box_valid"]}


class ListIterator:
    """A checkpointable iterator over a fixed list of batches (cycling), like a grain iterator."""

    def __init__(self, batches):
        self.batches = batches
        self.position = 0

    def __iter__(self):
        return self

    def __next__(self):
        batch = self.batches[self.position % len(self.batches)]
        self.position += 1
        return batch

    def get_state(self):
        return {"position": self.position}

    def set_state(self, state):
        self.position = int(state["position"])


def micro_config():
    """configs/tiny.py with one tower conv and single-tree DLA levels (a smaller graph: faster
    compiles), 10 identities."""
    from configs import tiny

    config = tiny.get_config()
    config.model.num_convs = 1
    config.model.dla_levels = (1, 1, 1, 1, 1, 1)
    config.loss.num_ids = 10
    config.train.log_every = 1
    config.train.checkpoint_every = 1
    config.train.async_checkpointing = False
    config.evals.synthetic.every = 0
    config.train.batch_size = 2
    config.mesh.num_devices = 1
    config.optim.warmup_steps = 0
    return config


def paper_optim_micro_config():
    """micro_config with the paper's optimiser (SGD, lr 1e-3) and mmdet's IoU clamp: moderate
    first updates, for comparing sharded and unsharded steps. (Tiny's AdamW divides every
    gradient by its own magnitude on the first step, so a near-zero gradient whose float32
    summation order differs becomes a full +-lr update; SGD keeps such differences at 1e-5.)"""
    from configs import dmtrack_dla34

    config = micro_config()
    config.optim = dmtrack_dla34.optim_config()
    config.optim.warmup_steps = 0
    config.loss.iou_eps = 1e-6
    return config
