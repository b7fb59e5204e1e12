"""The resumable runner with fake trackers: resume after a crash, batching, sharding."""

from types import SimpleNamespace

import numpy as np
import pytest

from eval import ope_metrics, result_files, runner, scoring

GT = {
    0: [[4, 4, 10, 8], [5, 4, 10, 8], [6, 5, 10, 8]],
    1: [[2, 2, 6, 6], [3, 3, 6, 6], [4, 4, 6, 6], [5, 5, 6, 6], [6, 6, 6, 6]],
    2: [[1, 1, 5, 5], [2, 1, 5, 5]],
}
NAMES = ["bear-1", "cat-2", "dog-3"]


@pytest.fixture
def lasot_root(tmp_path, bench_files):
    specs = {name: {"gt": GT[i]} for i, name in enumerate(NAMES)}
    return bench_files.make_lasot(tmp_path / "lasot", specs, with_images=True)


def _where(frame):
    return int(frame[0, 0, 0]), int(frame[0, 1, 0])  # encoded sequence id, frame index


class OffsetTracker:
    """Returns the ground truth shifted by `offset` pixels in x, confidence 0.9."""

    def __init__(self, log, offset=0.0, crash_at=None):
        self.log, self.offset, self.crash_at = log, offset, crash_at

    def initialize(self, frame, box):
        seq, index = _where(frame)
        assert index == 0
        np.testing.assert_array_equal(box, GT[seq][0])
        self.log.append(("init", seq))

    def track(self, frame):
        seq, index = _where(frame)
        if (seq, index) == self.crash_at:
            raise KeyboardInterrupt("killed")
        return SimpleNamespace(box=np.asarray(GT[seq][index], float) + [self.offset, 0, 0, 0],
                               confidence=0.9)


class BatchedOffsetTracker:
    def __init__(self, log):
        self.log = log

    def initialize(self, frames, boxes):
        self.log.append(("init", tuple(_where(f)[0] for f in frames)))

    def track(self, frames):
        places = [_where(f) for f in frames]
        self.log.append(("track", tuple(places)))
        return [SimpleNamespace(box=np.array(GT[s][i], float), confidence=0.5)
                for s, i in places]


def test_killed_run_resumes_without_redoing_finished_sequences(lasot_root, tmp_path):
    sequences = scoring.read_sequences("lasot", lasot_root, with_frames=True)
    out = tmp_path / "results"
    log = []
    with pytest.raises(KeyboardInterrupt):
        runner.run_benchmark(sequences, lambda: OffsetTracker(log, crash_at=(1, 3)), out,
                             runner.OpeWriter(), process_index=0, process_count=1,
                             progress=False)
    # bear-1 in the layout `dmtrack track` writes; cat-2 left no file
    assert sorted(p.name for p in out.iterdir()) == ["bear-1.txt", "bear-1_confidence.value",
                                                     "bear-1_time.txt"]
    first = (out / "bear-1.txt").read_text()
    log.clear()
    summary = runner.run_benchmark(sequences, lambda: OffsetTracker(log), out,
                                   runner.OpeWriter(), process_index=0, process_count=1,
                                   progress=False)
    assert summary.skipped == ["bear-1"] and summary.tracked == ["cat-2", "dog-3"]
    assert log == [("init", 1), ("init", 2)]
    assert (out / "bear-1.txt").read_text() == first
    # a perfect tracker: IoU 1 everywhere, which passes every threshold but t = 1
    predictions = [result_files.read_ope_result(out, n) for n in NAMES]
    for prediction, seq in zip(predictions, range(3)):
        np.testing.assert_array_equal(prediction, GT[seq])
    result = ope_metrics.evaluate_ope(predictions, [np.array(GT[i]) for i in range(3)])
    assert result.success == pytest.approx(20 / 21) and result.precision == 1.0


def test_batched_tracking_pads_short_sequences_and_matches_single(lasot_root, tmp_path):
    sequences = scoring.read_sequences("lasot", lasot_root, with_frames=True)
    log = []
    summary = runner.run_benchmark(sequences, lambda: BatchedOffsetTracker(log),
                                   tmp_path / "batched", runner.OpeWriter(), batch_size=2,
                                   process_index=0, process_count=1, progress=False)
    # batch (bear-1: 3 frames, cat-2: 5 frames) then (dog-3); bear-1 finishes first
    assert summary.tracked == ["bear-1", "cat-2", "dog-3"]
    assert log[0] == ("init", (0, 1))
    assert log[1] == ("track", ((0, 1), (1, 1)))
    assert log[3] == ("track", ((0, 2), (1, 3)))  # bear-1 repeats its last frame
    for seq, name in enumerate(NAMES):
        np.testing.assert_array_equal(
            result_files.read_ope_result(tmp_path / "batched", name), GT[seq])


def test_processes_split_the_sequences(lasot_root, tmp_path):
    sequences = scoring.read_sequences("lasot", lasot_root, with_frames=True)
    log = []
    summary = runner.run_benchmark(sequences, lambda: OffsetTracker(log), tmp_path / "r",
                                   runner.OpeWriter(), process_index=1, process_count=2,
                                   progress=False)
    assert summary.tracked == ["cat-2"]
    with pytest.raises(ValueError, match="process index 2 outside 0..1"):
        runner.run_benchmark(sequences, lambda: OffsetTracker(log), tmp_path / "r",
                             runner.OpeWriter(), process_index=2, process_count=2)


def test_votlt_and_got10k_writers_produce_readable_files(lasot_root, tmp_path):
    sequences = scoring.read_sequences("lasot", lasot_root, with_frames=True,
                                        names=["dog-3"])
    for writer, reader in [(runner.VotltWriter(), result_files.read_votlt_result),
                           (runner.Got10kWriter(), result_files.read_got10k_result)]:
        out = tmp_path / type(writer).__name__
        runner.run_benchmark(sequences, lambda: OffsetTracker([], offset=1.0), out, writer,
                             process_index=0, process_count=1, progress=False)
        assert writer.is_done(out, sequences[0])
        read = reader(out, "dog-3")
        boxes = read[0]
        np.testing.assert_array_equal(boxes[1], np.add(GT[2][1], [1, 0, 0, 0]))
        if isinstance(writer, runner.VotltWriter):
            assert read[1][1] == pytest.approx(0.9)
