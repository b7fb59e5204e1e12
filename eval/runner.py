"""Resumable benchmark runner: tracks every sequence and writes its result file atomically.

A sequence whose result file exists is finished and skipped, so a run that was killed picks up
where it stopped; a half-tracked sequence leaves no file behind (files appear by rename). With
several JAX processes each takes every `process_count`-th sequence of the benchmark's fixed
order, so they never write the same file.

Trackers follow the protocol `initialize(frame, box_xywh)`, `track(frame) -> result` where the
result has `.box` ((4,) x, y, w, h in original-frame pixels) and `.confidence` (a float in
[0, 1]) (duck-typed: `FrameResult`; dmtrack_jax's `TrackResult` is one, and eval never imports
dmtrack_jax); a batched tracker (`initialize(frames, boxes)`, `track(frames) -> B results`)
runs up to B sequences in lockstep, a finished sequence repeating its last frame until the
longest of the batch ends.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Protocol, Sequence as TypingSequence

import numpy as np
from tqdm import tqdm

from data_pipelines.sequence import Sequence
from dmtrack_common.frames import load_frame
from eval import result_files


class FrameResult(Protocol):
    """What a tracker reports for one frame (duck-typed; `dmtrack_jax`'s `TrackResult` is
    one): `box` (4,) x, y, w, h in original-frame pixels, `confidence` a float in [0, 1]."""
    box: np.ndarray
    confidence: float


class SingleTracker(Protocol):
    def initialize(self, frame: np.ndarray, box_xywh: np.ndarray) -> None: ...

    def track(self, frame: np.ndarray) -> FrameResult: ...


class BatchTracker(Protocol):
    def initialize(self, frames: TypingSequence[np.ndarray], boxes_xywh) -> None: ...

    def track(self, frames: TypingSequence[np.ndarray]) -> TypingSequence[FrameResult]:
        """One `FrameResult` per sequence, in `initialize`'s order."""


@dataclasses.dataclass
class TrackOutput:
    """What a sequence produced: boxes (N, 4) x, y, w, h, confidences (N,), seconds per
    frame (N,), and the frame size (H, W) that normalised formats need."""
    boxes: np.ndarray
    confidences: np.ndarray
    times: np.ndarray
    frame_hw: tuple[int, int]


class ResultWriter(Protocol):
    def is_done(self, results_dir, sequence: Sequence) -> bool: ...

    def write(self, results_dir, sequence: Sequence, output: TrackOutput) -> None: ...


class OpeWriter:
    """LaSOT / OTB / TLP / TrackingNet: `<seq>.txt`, with `<seq>_confidence.value` and
    `<seq>_time.txt` beside it (the layout `dmtrack track` writes)."""

    def is_done(self, results_dir, sequence):
        return result_files.ope_result_path(results_dir, sequence.name).is_file()

    def write(self, results_dir, sequence, output):
        result_files.write_ope_result(results_dir, sequence.name, output.boxes,
                                      output.confidences, output.times)


class Got10kWriter:
    def is_done(self, results_dir, sequence):
        return result_files.got10k_result_path(results_dir, sequence.name).is_file()

    def write(self, results_dir, sequence, output):
        result_files.write_got10k_result(results_dir, sequence.name, output.boxes, output.times)


class VotltWriter:
    def is_done(self, results_dir, sequence):
        return result_files.votlt_result_path(results_dir, sequence.name).is_file()

    def write(self, results_dir, sequence, output):
        result_files.write_votlt_result(results_dir, sequence.name, output.boxes,
                                        output.confidences, output.times)


@dataclasses.dataclass
class OxuvaWriter:
    """Frames after the initial one; present when the confidence reaches the threshold."""
    present_threshold: float = 0.5

    def is_done(self, results_dir, sequence):
        video, obj = sequence.extra["video"], sequence.extra["object"]
        return result_files.oxuva_result_path(results_dir, video, obj).is_file()

    def write(self, results_dir, sequence, output):
        height, width = output.frame_hw
        x, y, w, h = output.boxes[1:].T
        boxes_xxyy = np.stack([x / width, (x + w) / width, y / height, (y + h) / height], 1)
        confidences = output.confidences[1:]
        result_files.write_oxuva_predictions(
            results_dir, sequence.extra["video"], sequence.extra["object"],
            sequence.extra["frame_numbers"][1:], confidences >= self.present_threshold,
            confidences, boxes_xxyy)


def initial_box(sequence: Sequence, first_frame: np.ndarray) -> np.ndarray:
    """The pixel x, y, w, h box to start from (OxUvA gives fractions of the image)."""
    normalised = sequence.extra.get("init_box_xxyy")
    if normalised is None:
        return np.asarray(sequence.init_box, np.float64)
    height, width = first_frame.shape[:2]
    xmin, xmax, ymin, ymax = normalised
    return np.array([xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height])


def shard(sequences: list[Sequence], process_index: int | None, process_count: int | None):
    """This process's share of the sequences (defaults: jax.process_index/process_count)."""
    if process_index is None or process_count is None:
        import jax  # only when splitting across a real JAX job

        process_index, process_count = jax.process_index(), jax.process_count()
    if not 0 <= process_index < process_count:
        raise ValueError(f"process index {process_index} outside 0..{process_count - 1}")
    return sequences[process_index::process_count]


def _hold_untracked(output: TrackOutput, frame_stride: int) -> TrackOutput:
    """Frames between two tracked ones repeat the box and confidence of the last tracked."""
    if frame_stride > 1:
        tracked = np.arange(len(output.boxes)) // frame_stride * frame_stride
        output.boxes[:] = output.boxes[tracked]
        output.confidences[:] = output.confidences[tracked]
    return output


def check_frame_stride(frame_stride: int) -> int:
    if int(frame_stride) != frame_stride or frame_stride < 1:
        raise ValueError(f"frame stride must be a whole number >= 1, got {frame_stride}")
    return int(frame_stride)


def track_sequence(tracker: SingleTracker, sequence: Sequence,
                   frame_stride: int = 1) -> TrackOutput:
    """Tracks one sequence; with `frame_stride` k > 1 only frames 1, 1 + k, 1 + 2k, ... are
    given to the tracker (the released DMTrack evaluation, issue 17 fact 12, k = 10) and the
    frames between repeat the last tracked row, so the file keeps one row per frame."""
    frame_stride = check_frame_stride(frame_stride)
    if not sequence.frame_paths:
        raise ValueError(f"sequence {sequence.name} has no frames to track (read with frames)")
    n = len(sequence.frame_paths)
    boxes, confidences, times = np.zeros((n, 4)), np.ones(n), np.zeros(n)
    first = load_frame(sequence.frame_paths[0])
    start = time.perf_counter()
    boxes[0] = initial_box(sequence, first)
    tracker.initialize(first, boxes[0])
    times[0] = time.perf_counter() - start
    for i in range(frame_stride, n, frame_stride):
        frame = load_frame(sequence.frame_paths[i])
        start = time.perf_counter()
        result = tracker.track(frame)
        times[i] = time.perf_counter() - start
        boxes[i] = np.asarray(result.box, np.float64).reshape(4)
        confidences[i] = float(result.confidence)
    return _hold_untracked(TrackOutput(boxes, confidences, times, first.shape[:2]), frame_stride)


def track_batch(tracker: BatchTracker, sequences: list[Sequence], on_finished,
                frame_stride: int = 1) -> None:
    """Lockstep tracking; `on_finished(sequence, output)` as soon as each one ends.
    `frame_stride` as in `track_sequence`."""
    frame_stride = check_frame_stride(frame_stride)
    finished = on_finished
    on_finished = lambda s, out: finished(s, _hold_untracked(out, frame_stride))  # noqa: E731
    lengths = [len(s.frame_paths) for s in sequences]
    firsts = [load_frame(s.frame_paths[0]) for s in sequences]
    outputs = [TrackOutput(np.zeros((n, 4)), np.ones(n), np.zeros(n), f.shape[:2])
               for n, f in zip(lengths, firsts)]
    start = time.perf_counter()
    init_boxes = [initial_box(s, f) for s, f in zip(sequences, firsts)]
    tracker.initialize(firsts, np.stack(init_boxes))
    for out, box in zip(outputs, init_boxes):
        out.boxes[0] = box
        out.times[0] = (time.perf_counter() - start) / len(sequences)
    last_frames = firsts
    # The last frame each sequence tracks (every `frame_stride`-th).
    last = [(n - 1) // frame_stride * frame_stride for n in lengths]
    for b, n in enumerate(lengths):
        if last[b] == 0:
            on_finished(sequences[b], outputs[b])
    for t in range(frame_stride, max(lengths), frame_stride):
        frames = [load_frame(s.frame_paths[t]) if t < n else last_frames[b]
                  for b, (s, n) in enumerate(zip(sequences, lengths))]
        last_frames = frames
        start = time.perf_counter()
        results = list(tracker.track(frames))
        elapsed = (time.perf_counter() - start) / len(sequences)
        if len(results) != len(sequences):
            raise ValueError(f"the tracker returned {len(results)} results for "
                             f"{len(sequences)} sequences")
        boxes = np.stack([np.asarray(r.box, np.float64).reshape(4) for r in results])
        confidences = np.array([float(r.confidence) for r in results])
        for b, n in enumerate(lengths):
            if t < n:
                outputs[b].boxes[t], outputs[b].confidences[t] = boxes[b], confidences[b]
                outputs[b].times[t] = elapsed
                if t == last[b]:
                    on_finished(sequences[b], outputs[b])


@dataclasses.dataclass
class RunSummary:
    tracked: list[str]
    skipped: list[str]


def run_benchmark(sequences: list[Sequence], make_tracker: Callable[[], object], results_dir,
                  writer: ResultWriter, batch_size: int = 1, process_index: int | None = None,
                  process_count: int | None = None, progress: bool = True,
                  frame_stride: int = 1) -> RunSummary:
    """Tracks this process's unfinished sequences. `make_tracker()` is called once (and only
    when something is left to track); it returns a single tracker (batch_size 1) or a batched
    one, whose `initialize` must start a new sequence (or group) from scratch. With
    `frame_stride` k > 1 only every k-th frame is tracked (see `track_sequence`)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    frame_stride = check_frame_stride(frame_stride)
    mine = shard(list(sequences), process_index, process_count)
    skipped = [s.name for s in mine if writer.is_done(results_dir, s)]
    pending = [s for s in mine if not writer.is_done(results_dir, s)]
    tracked: list[str] = []

    def finish(sequence: Sequence, output: TrackOutput) -> None:
        writer.write(results_dir, sequence, output)
        tracked.append(sequence.name)
        bar.update(1)

    if not pending:
        return RunSummary(tracked, skipped)
    # One tracker for the whole run: `initialize` starts every sequence afresh, and keeping
    # the instance keeps its compiled network step (a new one would recompile per sequence).
    tracker = make_tracker()
    with tqdm(total=len(pending), desc="sequences", unit="seq", disable=not progress) as bar:
        if batch_size == 1:
            for sequence in pending:
                finish(sequence, track_sequence(tracker, sequence, frame_stride))
        else:
            for start in range(0, len(pending), batch_size):
                track_batch(tracker, pending[start:start + batch_size], finish, frame_stride)
    return RunSummary(tracked, skipped)
