"""The held-out synthetic benchmark's scoring, on oracle and broken trackers."""

import numpy as np

from eval import synthetic_benchmark as sb


def _oracle(videos, hide_absent=True):
    tracked = []
    for name, video in zip(sb.video_names(videos), videos):
        gt = video.boxes[:, 0]
        boxes = gt.copy()
        conf = np.ones(len(gt))
        for t in range(1, len(gt)):
            if not np.all(np.isfinite(gt[t])):
                boxes[t] = boxes[t - 1]  # hold the last box, as the tracker does
                conf[t] = 0.0 if hide_absent else 1.0
        tracked.append(sb.TrackedVideo(name, boxes, conf))
    return tracked


def test_oracle_scores_and_absence_handling():
    videos = sb.make_videos(2, 40, (96, 128))
    assert any(v.target_absent.any() for v in videos)
    scores = sb.score(videos, _oracle(videos), absent_confidence=0.5)
    # LaSOT toolkit: absent frames stay in the denominator and fail every threshold; overlap 1
    # passes every success threshold but the last (strict >): 20 of 21.
    present = np.mean([np.mean(~v.target_absent) for v in videos])
    np.testing.assert_allclose(scores["success"], 20 / 21 * present, atol=1e-12)
    np.testing.assert_allclose(scores["precision"], present, atol=1e-12)
    np.testing.assert_allclose(scores["norm_precision"], present, atol=1e-12)
    assert scores["tpr"] == 1.0 and scores["tnr"] == 1.0 and scores["max_gm"] == 1.0
    # Claiming presence on absent frames keeps OPE (absent frames are failures either way) but TNR = 0.
    claims = sb.score(videos, _oracle(videos, hide_absent=False), absent_confidence=0.5)
    np.testing.assert_allclose(claims["success"], scores["success"], atol=1e-12)
    assert claims["tnr"] == 0.0
    # max_gm = max over p of sqrt((1-p) * tpr * ((1-p) * tnr + p)) at tpr 1, tnr 0: p = 1/2.
    np.testing.assert_allclose(claims["max_gm"], 0.5, atol=1e-9)


def test_names_follow_the_lasot_writer():
    videos = sb.make_videos(4, 3, (64, 64))
    names = sb.video_names(videos)
    assert len(set(names)) == 4
    for name, video in zip(names, videos):
        assert name.startswith(video.object_class + "-")
