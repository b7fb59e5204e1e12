"""`dmtrack_apps.synthetic_eval`: tracking the held-out synthetic benchmark with a tracker
(here an oracle that reads the ground truth), scored by `eval.synthetic_benchmark`."""

from types import SimpleNamespace

import numpy as np
import pytest

from dmtrack_apps import synthetic_eval
from eval import synthetic_benchmark as sb

COUNT, FRAMES, SIZE, SEED = 3, 20, (64, 96), 123


class OracleBatchedTracker:
    """Returns the ground truth; holds the last box with confidence 0 while the target is
    absent, as the tracker does. Finds its videos by their first frames."""

    def __init__(self, videos):
        self.videos = videos

    def initialize(self, frames, boxes_xywh):
        self.group = [next(v for v in self.videos if np.array_equal(v.frames[0], f))
                      for f in frames]
        self.t = 0
        self.last = np.array(boxes_xywh, float)

    def track(self, frames):
        self.t += 1
        confidences = np.zeros(len(frames))
        for j, video in enumerate(self.group):
            gt = video.boxes[self.t, 0]
            if np.all(np.isfinite(gt)):
                self.last[j], confidences[j] = gt, 1.0
        return [SimpleNamespace(box=self.last[j].copy(), confidence=float(confidences[j]))
                for j in range(len(frames))]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_evaluate_tracker_scores_an_oracle_like_the_scorer(batch_size):
    videos = sb.make_videos(COUNT, FRAMES, SIZE, SEED)
    made = []
    scores = synthetic_eval.evaluate_tracker(
        lambda: made.append(1) or OracleBatchedTracker(videos), COUNT, FRAMES, SIZE,
        absent_confidence=0.5, seed=SEED, batch_size=batch_size)
    assert made == [1]
    tracked = synthetic_eval.track_videos(OracleBatchedTracker(videos), videos, batch_size)
    assert [t.name for t in tracked] == sb.video_names(videos)
    for result, video in zip(tracked, videos):
        np.testing.assert_array_equal(result.boxes[0], video.boxes[0, 0])
        assert result.confidences[0] == 1.0
    expected = sb.score(videos, tracked, 0.5)
    for key in ("success", "precision", "norm_precision", "tpr"):
        assert scores[key] == pytest.approx(expected[key])
    present = np.mean([np.mean(~v.target_absent) for v in videos])
    assert scores["precision"] == pytest.approx(present)
