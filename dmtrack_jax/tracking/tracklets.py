"""A pool of tracklets stored as arrays (struct of arrays), so a frame's Kalman steps, cost
matrices and bookkeeping are vectorised over all tracklets at once."""

from __future__ import annotations

import numpy as np

from dmtrack_jax.tracking.kalman import KalmanFilter, xyah_to_xyxy, xyxy_to_xyah
from dmtrack_jax.tracking.matching import normalize_rows

TRACKED = 0  # matched in its latest frame
LOST = 1  # unmatched since `last_frame`; kept for a buffer of frames, then removed


class TrackletPool:
    """Rows are tracklets. Fields: ids, Kalman mean/covariance, smoothed embeddings, last
    matched boxes, state (TRACKED/LOST), confirmed (matched at least twice, or frame 1),
    start_frame and last_frame."""

    def __init__(self, kalman: KalmanFilter, embedding_dim: int):
        self.kalman = kalman
        self.next_id = 1
        self.ids = np.zeros((0,), np.int64)
        self.mean = np.zeros((0, 8))
        self.covariance = np.zeros((0, 3, 4))  # compact: see KalmanFilter
        self.embeddings = np.zeros((0, embedding_dim))
        self.boxes = np.zeros((0, 4))
        self.state = np.zeros((0,), np.int64)
        self.confirmed = np.zeros((0,), bool)
        self.start_frame = np.zeros((0,), np.int64)
        self.last_frame = np.zeros((0,), np.int64)

    def __len__(self) -> int:
        return self.ids.shape[0]

    def row_of(self, track_id: int) -> int:
        rows = np.flatnonzero(self.ids == track_id)
        return int(rows[0]) if rows.size else -1

    def add(self, boxes_xyxy, embeddings, frame: int, confirmed: bool) -> np.ndarray:
        """New tracklets at rest at the given boxes; returns their ids."""
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        k = boxes.shape[0]
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        mean, covariance = self.kalman.initiate(xyxy_to_xyah(boxes))
        self.ids = np.concatenate([self.ids, ids])
        self.mean = np.concatenate([self.mean, mean])
        self.covariance = np.concatenate([self.covariance, covariance])
        self.embeddings = np.concatenate([self.embeddings, normalize_rows(embeddings)])
        self.boxes = np.concatenate([self.boxes, boxes])
        self.state = np.concatenate([self.state, np.full(k, TRACKED, np.int64)])
        self.confirmed = np.concatenate([self.confirmed, np.full(k, confirmed)])
        self.start_frame = np.concatenate([self.start_frame, np.full(k, frame, np.int64)])
        self.last_frame = np.concatenate([self.last_frame, np.full(k, frame, np.int64)])
        return ids

    def predict(self) -> None:
        """One frame ahead for every tracklet. A lost tracklet's height velocity is zeroed
        (as in FairMOT): an unobserved box should not keep growing or shrinking."""
        if len(self) == 0:
            return
        self.mean[self.state != TRACKED, 7] = 0.0
        self.mean, self.covariance = self.kalman.predict(self.mean, self.covariance)

    def predicted_boxes(self, rows) -> np.ndarray:
        return xyah_to_xyxy(self.mean[rows, :4]).reshape(-1, 4)

    def correct(self, rows, boxes_xyxy, embeddings, frame: int, momentum: float) -> None:
        """Matched rows: Kalman update, embedding smoothing, back to TRACKED and confirmed."""
        rows = np.asarray(rows, np.int64)
        if rows.size == 0:
            return
        self.mean[rows], self.covariance[rows] = self.kalman.update(
            self.mean[rows], self.covariance[rows], xyxy_to_xyah(boxes_xyxy))
        smoothed = momentum * self.embeddings[rows] + (1.0 - momentum) * normalize_rows(embeddings)
        self.embeddings[rows] = normalize_rows(smoothed)
        self._mark_seen(rows, boxes_xyxy, frame)

    def restart(self, row: int, box_xyxy, embedding, frame: int, momentum: float) -> None:
        """Re-detection after a jump: a fresh Kalman state at the new box (the old velocity and
        position say nothing about where the object went); the embedding is smoothed as usual."""
        box = np.asarray(box_xyxy, dtype=np.float64).reshape(1, 4)
        mean, covariance = self.kalman.initiate(xyxy_to_xyah(box))
        self.mean[row], self.covariance[row] = mean[0], covariance[0]
        smoothed = (momentum * self.embeddings[row]
                    + (1.0 - momentum) * normalize_rows(np.reshape(embedding, (1, -1)))[0])
        self.embeddings[row] = normalize_rows(smoothed[None])[0]
        self._mark_seen(np.array([row]), box, frame)

    def _mark_seen(self, rows, boxes_xyxy, frame: int) -> None:
        self.boxes[rows] = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        self.state[rows] = TRACKED
        self.confirmed[rows] = True
        self.last_frame[rows] = frame

    def keep(self, mask) -> None:
        """Drops the rows where `mask` is False."""
        mask = np.asarray(mask, bool)
        for name in ("ids", "mean", "covariance", "embeddings", "boxes", "state", "confirmed",
                     "start_frame", "last_frame"):
            setattr(self, name, getattr(self, name)[mask])
