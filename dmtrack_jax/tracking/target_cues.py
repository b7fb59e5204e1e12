"""The target's own cues in 'reid' mode with `target_association='fused'` (issue 20 part 2).

FairMOT's stage-1 cost (0.98 appearance + 0.02 Mahalanobis, gated) is made for pedestrians
with strong embeddings. With a weak embedding, appearance alone hands the target to a
look-alike where motion would not. In 'fused' mode the target tracklet (and only it: the
distractor tracklets keep FairMOT's cost, so look-alikes are still explained by their own
tracklets in the same Hungarian assignment) is costed with every cue the network gives:

    cost_i = w_app (1 - max(cos(e_1, e_i), cos(e_s, e_i)))        appearance (first, smoothed)
           + w_mot d2_i / gate                                       Kalman: squared Mahalanobis
           + w_iou (1 - IoU(predicted box, box_i))                   overlap with the prediction
           + w_score (1 - s_i / max_j s_j)                           the detector's own score
    cost_i = inf where d2_i > gate (the motion gate; the filter's covariance grows while the
             target is unseen, so the gate widens with the time since it was last matched)

and matched when cost_i <= `target_match_threshold`. When the target tracklet finds no match
(an absence, a cut, a jump past the gate), re-detection ranks the candidates no distractor
tracklet holds by

    value_i = (1 - w_rs) sim_i + w_rs s_i / max_j s_j
              + w_rp exp(-|c_i - c_last| / (size_last (1 + lost)))

(appearance, the detector's score, and a position prior that fades with the frames lost) and
takes the best one if value_i >= `redetect_threshold`. Scores enter both as a share of the
frame's best candidate score (max over all candidates of the frame): a model's score scale
(0.2-0.4 for the tiny model's best candidates, near 1 for a strong one) does not move the
weights; absence is decided on the absolute confidence (`absent_confidence`). The reported confidence is
s_i * max(sim_i, 0) ** `confidence_appearance_power`: a look-alike that scores well but does
not look like the target is reported with less confidence, so absence is said more often.

Every weight is a field of `config.tracker` (tracking/config.py); tuned on validation seeds
by benchmarks/tune_tracker.py. Without a re-id head (zero embeddings) the appearance terms
are 0 and the similarity is taken as 1.
"""

from __future__ import annotations

import numpy as np

from dmtrack_jax.tracking.matching import cosine_distance, iou_distance


def appearance_similarity(references, embeddings) -> np.ndarray:
    """(R, D) unit references (first-frame, smoothed), (N, D) unit embeddings -> (N,) the best
    cosine similarity in [-1, 1] to any reference."""
    if len(embeddings) == 0:
        return np.zeros((0,))
    return (1.0 - cosine_distance(references, embeddings, normalized=True)).max(axis=0)


def relative_scores(scores) -> np.ndarray:
    """(N,) scores as a share of the best one (all 0 when every score is 0)."""
    scores = np.asarray(scores, np.float64)
    best = scores.max() if scores.size else 0.0
    return scores / best if best > 0 else np.zeros_like(scores)


def target_cost(config, similarity, gating, predicted_box, boxes, scores,
                has_appearance: bool) -> np.ndarray:
    """(N,) fused cost of the target tracklet for each candidate (module docstring); inf
    outside the motion gate. similarity (N,), gating (N,) squared Mahalanobis distances,
    predicted_box (4,) and boxes (N, 4) x1, y1, x2, y2 pixels, scores (N,) `relative_scores`."""
    gate = float(config.motion_gate_threshold)
    cost = float(config.target_motion_weight) * np.asarray(gating) / gate
    cost = cost + float(config.target_iou_weight) * iou_distance(
        np.reshape(predicted_box, (1, 4)), boxes)[0]
    cost = cost + float(config.target_score_weight) * (1.0 - np.asarray(scores))
    if has_appearance:
        cost = cost + float(config.target_appearance_weight) * (1.0 - np.asarray(similarity))
    return np.where(np.asarray(gating) > gate, np.inf, cost)


def redetection_value(config, similarity, scores, boxes, last_box, frames_lost: int,
                      has_appearance: bool) -> np.ndarray:
    """(N,) re-detection value of each candidate (module docstring; scores (N,)
    `relative_scores` of the frame's candidates). last_box (4,) is the
    target's last reported box; frames_lost >= 1 the frames since its tracklet was matched."""
    w_score = float(config.redetect_score_weight) if has_appearance else 1.0
    value = w_score * np.asarray(scores)
    if has_appearance:
        value = value + (1.0 - w_score) * np.asarray(similarity)
    w_position = float(config.redetect_position_weight)
    if w_position > 0 and len(boxes):
        last = np.asarray(last_box, np.float64)
        size = np.sqrt(max((last[2] - last[0]) * (last[3] - last[1]), 1e-6))
        centres = 0.5 * (boxes[:, :2] + boxes[:, 2:])
        distance = np.linalg.norm(centres - 0.5 * (last[:2] + last[2:]), axis=1)
        value = value + w_position * np.exp(-distance / (size * (1.0 + max(frames_lost, 0))))
    return value


def fused_confidence(config, score: float, similarity: float, has_appearance: bool) -> float:
    """The reported confidence of the target's candidate: score * max(sim, 0) ** power."""
    power = float(config.confidence_appearance_power)
    if not has_appearance or power == 0:
        return float(score)
    return float(score) * max(float(similarity), 0.0) ** power
