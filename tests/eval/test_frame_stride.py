"""`--frame-stride` (issue 17 fact 12, the released DMTrack LaSOT protocol tracks and scores
every 10th frame): which frames the tracker sees, what the file holds, what is scored."""

from types import SimpleNamespace

import numpy as np
import pytest

from eval import result_files, runner, scoring

# Two sequences of 7 and 4 frames; x moves by 1 px a frame.
GT = {0: [[4 + t, 4, 10, 8] for t in range(7)], 1: [[2 + t, 2, 6, 6] for t in range(4)]}
NAMES = ["bear-1", "cat-2"]


@pytest.fixture
def lasot_root(tmp_path, bench_files):
    specs = {name: {"gt": GT[i]} for i, name in enumerate(NAMES)}
    return bench_files.make_lasot(tmp_path / "lasot", specs, with_images=True)


def _where(frame):
    return int(frame[0, 0, 0]), int(frame[0, 1, 0])  # encoded sequence id, frame index


class GroundTruthTracker:
    """Reports the ground truth of the frame it sees, confidence 0.1 * index."""

    def __init__(self, seen):
        self.seen = seen

    def initialize(self, frame, box):
        self.seen.append(_where(frame))

    def track(self, frame):
        seq, index = _where(frame)
        self.seen.append((seq, index))
        return SimpleNamespace(box=np.asarray(GT[seq][index], float), confidence=0.1 * index)


class BatchedGroundTruthTracker(GroundTruthTracker):
    def initialize(self, frames, boxes):
        self.seen.extend(_where(f) for f in frames)

    def track(self, frames):
        return [GroundTruthTracker.track(self, f) for f in frames]


@pytest.mark.parametrize("batch_size", [1, 2])
def test_stride_tracks_every_kth_frame_and_holds_the_rest(lasot_root, tmp_path, batch_size):
    sequences = scoring.read_sequences("lasot", lasot_root, "all", with_frames=True)
    seen = []
    tracker = (GroundTruthTracker if batch_size == 1 else BatchedGroundTruthTracker)(seen)
    runner.run_benchmark(sequences, lambda: tracker, tmp_path / "res", runner.VotltWriter(),
                         batch_size=batch_size, process_index=0, process_count=1,
                         progress=False, frame_stride=3)
    # Frames 1, 4, 7 (indices 0, 3, 6) of the 7-frame sequence; 0, 3 of the 4-frame one
    # (in lockstep the shorter one repeats its last frame, index 3, at t = 6).
    assert sorted(set(seen)) == [(0, 0), (0, 3), (0, 6), (1, 0), (1, 3)]
    boxes, confidences = result_files.read_votlt_result(tmp_path / "res", "bear-1")
    # One row per frame; frames between tracked ones repeat the last tracked box/confidence.
    np.testing.assert_allclose(boxes[1:, 0], [4, 4, 7, 7, 7, 10])  # row 1: VOT-LT init mark
    np.testing.assert_allclose(confidences[1:], [1.0, 1.0, 0.3, 0.3, 0.3, 0.6])


def test_scoring_with_a_stride_reads_only_those_frames(lasot_root, tmp_path):
    sequences = scoring.read_sequences("lasot", lasot_root, "all", with_frames=True)
    # Exact on frames 1, 4, 7 (0, 3, 6), 100 px off everywhere else.
    for i, s in enumerate(sequences):
        boxes = np.asarray(GT[i], float) + [100, 0, 0, 0]
        boxes[::3] = GT[i][::3]
        result_files.write_ope_result(tmp_path / "res", s.name, boxes)
    strided = scoring.score_results("lasot", lasot_root, tmp_path / "res", "all",
                                    frame_stride=3)
    every = scoring.score_results("lasot", lasot_root, tmp_path / "res", "all")
    # Every scored frame has IoU 1: the toolkit's maximum, 20 of its 21 thresholds.
    assert strided["scores"]["success"] == pytest.approx(20 / 21)
    assert every["scores"]["success"] < 0.6
    with pytest.raises(ValueError, match="frame stride must be a whole number >= 1, got 0"):
        scoring.score_results("lasot", lasot_root, tmp_path / "res", "all", frame_stride=0)
