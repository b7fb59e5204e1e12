"""The `lasot-like` preset of the synthetic generator: long videos with LaSOT's statistics.

The default preset (`synthetic_scene.plan_scene`) packs one occlusion, one out-of-view period
and a crossing into every short video, with smooth motion: 30 % of its frames are absent and its
targets hardly ever jump. LaSOT's test set is the opposite (issue 20's table; numbers in
`track_statistics.LASOT_TEST`): slow motion most of the time with a heavy tail of fast motion
and cuts, 2.6 % absent frames in rare periods of very unequal lengths, and jittery box sizes.
This preset keeps the synthetic world's look (one shape family, one shared palette, identity in
the pattern, occluders of the opposite hue, a thin bar) and what it is for (a look-alike
distractor that crosses the target, re-entries far from the exit point, camera cuts that move
everything), and draws its timing and motion from distributions fitted to those statistics.

`plan_lasot_like_scene` decides the whole video from its seed in named steps, each drawing from
ONE random generator in a fixed order (reordering them changes every video):

  1. the shape family and the looks (`synthetic_scene._plan_looks`, as the default preset);
  2. sizes: every object's log-size is a slow drift (two sinusoids) plus a jitter redrawn on
     a share of the frames (the box-to-box scale change of real annotations);
  3. speeds: every object's per-frame speed, in units of its own size, is log-normal (a
     per-video level plus a short-memory AR(1) fluctuation), in a slowly turning direction;
  4. absence events: their number (at least one), their lengths (a log-normal with medium and
     long uniform parts), their kinds (an occluder covers the target / the target leaves the
     image) and their times;
  5. cuts: camera cuts at a Poisson rate, clear of the absences; at a cut the background jumps
     to another view and every object to a new place (the target `cut_jump` box sizes away);
  6. paths: integrate the speeds, move everything at the cuts, put the target somewhere far
     from its exit point after every out-of-view period, fold the paths into the image;
     distractor 1 follows the target at an offset that oscillates through zero (it crosses
     the target every `cross_period` frames); the others wander on their own;
  7. the out-of-view excursions (leave through the nearest side, come back through another)
     and the occluder's passes;
  8. the thin bar (a new place after every cut), integer boxes, the drawing order (every
     distractor behind the target, so that absences are the planned ones), occluder textures
     and the background (larger than the image by `camera_margin_share` of the short side: the
     cuts' room).

`target_annotations` gives the target's LaSOT-style annotation (box clipped to the image,
absent flag) from a plan without rendering: the statistics test and `dmtrack synth` use it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_pipelines.synthetic_render import SHAPE_FAMILIES, Scene, background_image, shape_mask
from data_pipelines.synthetic_scene import (_check_arguments, _integer_boxes, _Motion,
                                            _occluder_textures, _plan_looks, _reflect)

__all__ = ["LASOT_LIKE", "LasotLikeParams", "plan_lasot_like_scene", "target_annotations"]


@dataclasses.dataclass(frozen=True)
class LasotLikeParams:
    """Every number of the preset. Rates are per frame; sizes in units of the object's
    sqrt(w h) unless a field says otherwise."""

    base_size: tuple[float, float] = (0.17, 0.26)  # target size / image short side, uniform
    distractor_size_jitter: tuple[float, float] = (0.85, 1.15)  # distractor / target base size
    size_drift: float = 0.3  # amplitude of the slow log-size drift (two sinusoids)
    size_drift_period: tuple[float, float] = (150.0, 600.0)  # their periods, frames
    size_jitter_share: float = 0.25  # share of frames on which the size jitter is redrawn
    size_jitter_sigma: float = 0.045  # std of the log-size jitter (held between redraws)
    aspect_sigma: float = 0.25  # std of the log aspect ratio's slow drift amplitude
    min_size_px: float = 8.0  # no side shorter than this (pixels)
    still_share: float = 0.6  # fraction of the frames an object stands still (two-state chain)
    still_mean_frames: float = 50.0  # mean length of a still phase, frames
    speed_median: float = 0.03  # median speed while moving, box sizes per frame
    speed_video_sigma: float = 0.5  # std of a video's log-speed level around log(speed_median)
    speed_sigma: float = 1.35  # std of the log-speed fluctuation inside a video
    speed_memory: float = 0.9  # AR(1) coefficient of that fluctuation (short bursts)
    turn_sigma: float = 0.15  # radians per frame: random walk of the heading
    cut_rate: float = 0.8e-3  # camera cuts per frame (Poisson)
    cut_jump: tuple[float, float] = (1.2, 2.5)  # the target moves this far at a cut
    absence_rate: float = 1.3e-3  # absence periods per frame; every video gets at least one
    # Absence lengths, a mixture fitted to LaSOT's p50 / p90 / p99 of 6 / 46 / 214 frames; the
    # two uniform parts put flat stretches of the distribution where p90 and p99 fall, so that
    # a few hundred absences already give those percentiles within a few frames.
    absence_median: float = 5.0  # median length of an ordinary absence, frames (log-normal)
    absence_sigma: float = 1.0  # std of its log length
    medium_absence_share: float = 0.10  # share of medium absences, uniform in medium_absence
    medium_absence: tuple[int, int] = (30, 65)  # frames
    long_absence_share: float = 0.04  # share of long absences, uniform in long_absence
    long_absence: tuple[int, int] = (150, 300)  # frames
    absence_max_share: float = 1 / 3  # no absence longer than this share of the video
    out_of_view_share: float = 0.5  # probability that an absence is an out-of-view period
    ramp: tuple[int, int] = (4, 9)  # frames to leave / come back / slide an occluder in or out
    event_gap: int = 15  # frames kept free between two events (absences and cuts)
    # The points where the target touches the image edge on its way out and on its way back
    # lie at least this share of the image diagonal apart.
    reentry_min_distance: float = 0.5
    cross_period: tuple[int, int] = (150, 320)  # frames between two crossings of distractor 1
    cross_amplitude: tuple[float, float] = (2.5, 4.0)  # distractor 1's largest offset
    camera_margin_share: float = 0.5  # background margin (cut room) / image short side
    place_margin_px: int = 3  # objects keep this far inside the image (pixels)


LASOT_LIKE = LasotLikeParams()


# ----------------------------------------------------------------------------- helpers


def _ar1(rng: np.random.Generator, num_frames: int, memory: float, shape=()) -> np.ndarray:
    """(F, *shape) stationary AR(1) series with unit variance."""
    noise = rng.normal(size=(num_frames, *shape))
    out = np.empty_like(noise)
    out[0] = noise[0]
    scale = np.sqrt(1 - memory**2)
    for t in range(1, num_frames):
        out[t] = memory * out[t - 1] + scale * noise[t]
    return out


def _plan_sizes(rng, num_frames, num_objects, short_side, p: LasotLikeParams):
    """Step 2: (F, K) widths and heights."""
    base = rng.uniform(*p.base_size) * short_side
    widths = np.zeros((num_frames, num_objects))
    heights = np.zeros((num_frames, num_objects))
    t = np.arange(num_frames)
    for k in range(num_objects):
        size = base * (rng.uniform(*p.distractor_size_jitter) if k else 1.0)
        drift = sum(p.size_drift * rng.uniform(0.3, 0.7) * np.sin(
            2 * np.pi * t / rng.uniform(*p.size_drift_period) + rng.uniform(0, 2 * np.pi))
            for _ in range(2))
        # Annotation-like jitter: redrawn on a random share of the frames, held in between
        # (so most frames keep their size and only some change by a few per cent).
        redraw = rng.random(num_frames) < p.size_jitter_share
        redraw[0] = True
        values = rng.normal(0, p.size_jitter_sigma, num_frames)
        jitter = values[np.maximum.accumulate(np.where(redraw, t, 0))]
        period = rng.uniform(0.3, 1.0) * num_frames
        log_aspect = np.log(rng.uniform(0.6, 1.6)) + rng.normal(0, p.aspect_sigma) * np.sin(
            2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        scale = size * np.exp(drift + jitter)
        widths[:, k] = np.maximum(p.min_size_px, scale * np.exp(log_aspect / 2))
        heights[:, k] = np.maximum(p.min_size_px, scale * np.exp(-log_aspect / 2))
    return widths, heights


def _plan_steps(rng, num_frames, num_objects, p: LasotLikeParams) -> np.ndarray:
    """Step 3: (F, K, 2) per-frame displacement in box sizes (frame 0's entry is zero)."""
    level = np.log(p.speed_median) + rng.normal(0, p.speed_video_sigma, num_objects)
    speed = np.exp(level + p.speed_sigma * _ar1(rng, num_frames, p.speed_memory, (num_objects,)))
    heading = rng.uniform(0, 2 * np.pi, num_objects) + np.cumsum(
        rng.normal(0, p.turn_sigma, (num_frames, num_objects)), axis=0)
    # Still / moving phases: a two-state Markov chain with the stationary share still_share.
    leave_still = 1.0 / p.still_mean_frames
    leave_moving = leave_still * p.still_share / max(1.0 - p.still_share, 1e-9)
    draws = rng.random((num_frames, num_objects))
    still = np.empty((num_frames, num_objects), dtype=bool)
    still[0] = rng.random(num_objects) < p.still_share
    for t in range(1, num_frames):
        still[t] = np.where(still[t - 1], draws[t] >= leave_still, draws[t] < leave_moving)
    speed[still] = 0.0
    steps = speed[..., None] * np.stack([np.cos(heading), np.sin(heading)], axis=-1)
    steps[0] = 0.0
    return steps


def _free_times(num_frames: int, busy: list[tuple[int, int]], first: int, last: int, gap: int):
    """Frames in [first, last] at least `gap` away from every busy [start, end) window."""
    free = np.zeros(num_frames, dtype=bool)
    free[first:last + 1] = True
    for start, end in busy:
        free[max(0, start - gap):min(num_frames, end + gap)] = False
    return np.flatnonzero(free)


@dataclasses.dataclass
class _Absence:
    start: int  # first frame of the ramp out (or of the occluder's slide in)
    ramp_in: int  # frames to leave the image / for the occluder to slide over the target
    length: int  # planned absent frames
    ramp_out: int  # frames to come back / for the occluder to slide away
    out_of_view: bool

    @property
    def hidden(self) -> int:  # first planned absent frame
        return self.start + self.ramp_in

    @property
    def end(self) -> int:  # one past the last frame of the event
        return self.hidden + self.length + self.ramp_out


def _plan_events(rng, num_frames, p: LasotLikeParams):
    """Steps 4-5: cut frames and absence events, none overlapping (with `event_gap` between)."""
    first, last = max(2, round(0.05 * num_frames)), num_frames - 2
    absences: list[_Absence] = []
    count = 1 + rng.poisson(max(p.absence_rate * num_frames - 1.0, 0.0))
    lengths = np.exp(np.log(p.absence_median) + p.absence_sigma * rng.normal(size=count))
    kind = rng.random(count)
    medium = kind < p.medium_absence_share
    long = (kind >= p.medium_absence_share) & (kind < p.medium_absence_share + p.long_absence_share)
    lengths[medium] = rng.uniform(*p.medium_absence, size=int(medium.sum()))
    lengths[long] = rng.uniform(*p.long_absence, size=int(long.sum()))
    lengths = np.clip(np.round(lengths), 1, max(1, int(p.absence_max_share * num_frames)))
    kinds = rng.random(count) < p.out_of_view_share
    for length, out_of_view in zip(lengths.astype(int), kinds):
        ramp_in, ramp_out = (int(v) for v in rng.integers(p.ramp[0], p.ramp[1] + 1, size=2))
        total = ramp_in + length + ramp_out
        busy = [(a.start, a.end) for a in absences]
        starts = _free_times(num_frames, busy, first, last - total, p.event_gap)
        starts = [s for s in starts if all(s + total + p.event_gap <= a.start or s >= a.end
                                           for a in absences)]
        if not starts:
            continue
        absences.append(_Absence(int(rng.choice(starts)), ramp_in, int(length), ramp_out,
                                 bool(out_of_view)))
    cuts: list[int] = []
    for _ in range(rng.poisson(p.cut_rate * num_frames)):
        busy = [(a.start, a.end) for a in absences] + [(c, c + 1) for c in cuts]
        options = _free_times(num_frames, busy, first, last, p.event_gap)
        if options.size:
            cuts.append(int(rng.choice(options)))
    return sorted(cuts), sorted(absences, key=lambda a: a.start)


def _random_place(rng, half, limits, pad) -> np.ndarray:
    low, high = half + pad, np.maximum(limits - half - pad, half + pad + 1e-6)
    return rng.uniform(low, high)


# ----------------------------------------------------------------------------- planning


def plan_lasot_like_scene(seed: int, num_frames: int, image_size=(160, 224),
                          num_distractors: int = 3, *, occlusion: bool = True,
                          out_of_view: bool = True,
                          params: LasotLikeParams = LASOT_LIKE) -> Scene:
    """Plan one video of the `lasot-like` preset (module docstring); same arguments and
    checks as `synthetic_scene.plan_scene`. `occlusion` / `out_of_view` False turn that kind
    of absence into the other kind (both False: no absence)."""
    height, width = (int(v) for v in image_size)
    _check_arguments(num_frames, height, width, num_distractors)
    p = params
    rng = np.random.default_rng(seed)
    num_objects = num_distractors + 1
    short_side = min(height, width)
    limits = np.array([width, height], dtype=np.float64)
    pad = p.place_margin_px
    frames_t = np.arange(num_frames)

    shape = str(rng.choice(SHAPE_FAMILIES))  # step 1
    looks = _plan_looks(rng, num_frames, num_objects)
    widths, heights = _plan_sizes(rng, num_frames, num_objects, short_side, p)  # step 2
    size = np.sqrt(widths * heights)
    half = np.stack([widths, heights], axis=-1) / 2
    steps = _plan_steps(rng, num_frames, num_objects, p) * size[..., None]  # step 3, pixels
    cuts, absences = _plan_events(rng, num_frames, p) if num_frames >= 20 else ([], [])
    if not (occlusion or out_of_view):
        absences = []
    for a in absences:
        a.out_of_view = a.out_of_view if (occlusion and out_of_view) else out_of_view

    # Step 6: unfolded paths, moved at every cut (everything) and every re-entry (target).
    paths = np.cumsum(steps, axis=0)
    paths += np.stack([_random_place(rng, half[0, k], limits, pad)
                       for k in range(num_objects)])[None]
    low, high = half + pad, limits - half - pad

    def fold(k):
        return _reflect(paths[:, k], low[:, k], high[:, k])

    camera = np.zeros((num_frames, 2), dtype=np.int64)
    camera_margin = max(2, int(p.camera_margin_share * short_side))
    events = [(c, "cut", None) for c in cuts] + [(a.hidden + a.length, "reentry", a)
                                                 for a in absences if a.out_of_view]
    for frame, kind, absence in sorted(events, key=lambda e: e[0]):
        if frame >= num_frames:
            continue
        movers = range(num_objects) if kind == "cut" else [0]
        if kind == "cut":
            old = camera[frame - 1]
            for _ in range(20):
                view = rng.integers(-camera_margin, camera_margin + 1, size=2)
                if np.abs(view - old).max() >= camera_margin // 2:
                    break
            camera[frame:] = view
        # A cut moves the target from where it is; a re-entry is measured between the points
        # where the target touches the image edge on its way out and on its way back.
        touch = half[:, 0].min(axis=0) - 2  # the box still overlaps the image by ~2 px

        def edge_point(place):
            return place if kind == "cut" else _outside(place, limits, touch)

        anchor = edge_point(fold(0)[frame - 1] if kind == "cut" else fold(0)[absence.start])
        gaps = (np.array(p.cut_jump) * size[frame - 1, 0] if kind == "cut"
                else (p.reentry_min_distance * float(np.hypot(*limits)), np.inf))
        for k in movers:
            for _ in range(100):
                place = _random_place(rng, half[frame, k], limits, pad)
                if k or gaps[0] <= np.hypot(*(edge_point(place) - anchor)) <= gaps[1]:
                    break
            paths[frame:, k] += place - paths[frame, k]
    centres = np.stack([fold(k) for k in range(num_objects)], axis=1)

    # Distractor 1 crosses the target every cross_period frames (offset oscillating through 0).
    if num_objects > 1:
        period = rng.uniform(*p.cross_period)
        amplitude = rng.uniform(*p.cross_amplitude) * size[:, 0]
        phase = rng.uniform(0.3, 0.7) * np.pi
        turn = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.01, num_frames))
        offset = (amplitude * np.sin(2 * np.pi * frames_t / period + phase))[:, None] * np.stack(
            [np.cos(turn), np.sin(turn)], axis=-1)
        centres[:, 1] = _reflect(centres[:, 0] + offset, half[:, 1] * 0.5,
                                 limits - half[:, 1] * 0.5)

    # Step 7: out-of-view excursions and occluder passes.
    occluder_boxes = np.zeros((num_frames, 2, 4), dtype=np.int64)
    target = centres[:, 0].copy()
    for a in absences:
        hidden_end = a.hidden + a.length
        if a.out_of_view:
            exit_at, back_at = target[a.start], target[min(a.end, num_frames - 1)]
            reach = half[:, 0].max(axis=0) + 2 * pad + 2
            exit_point, entry_point = (_outside(exit_at, limits, reach),
                                       _outside(back_at, limits, reach))
            touch = half[:, 0].min(axis=0) - 2  # the box still overlaps the image by ~2 px
            exit_edge = _outside(exit_at, limits, touch)
            entry_edge = _outside(back_at, limits, touch)
            for t in range(a.start, min(a.end, num_frames)):
                if t < a.hidden:
                    w = (t - a.start + 1) / a.ramp_in
                    centres[t, 0] = (1 - w) * target[t] + w * exit_edge
                elif t < hidden_end:
                    centres[t, 0] = exit_point if t < a.hidden + a.length / 2 else entry_point
                else:
                    w = (a.end - t) / a.ramp_out
                    centres[t, 0] = w * entry_edge + (1 - w) * target[t]
        else:
            window = slice(a.start, min(a.end, num_frames))
            occ_w = widths[window, 0].max() * 1.25 + 4
            occ_h = heights[window, 0].max() * 1.25 + 4
            from_left = bool(rng.random() < 0.5)
            side = (-occ_w / 2 - 1, width + occ_w / 2 + 1)
            first_edge, second_edge = side if from_left else side[::-1]
            for t in range(a.start, min(a.end, num_frames)):
                if t < a.hidden:
                    w = (t - a.start + 1) / (a.ramp_in + 1)
                    edge = first_edge
                elif t < hidden_end:
                    w, edge = 1.0, first_edge
                else:
                    w = (a.end - t) / (a.ramp_out + 1)
                    edge = second_edge
                x = (1 - w) * edge + w * centres[t, 0, 0]
                occluder_boxes[t, 0] = [round(x - occ_w / 2), round(centres[t, 0, 1] - occ_h / 2),
                                        round(occ_w), round(occ_h)]
                if t >= a.hidden and t < hidden_end:  # cover the target whole (centred on it)
                    occluder_boxes[t, 0, :2] = np.round(centres[t, 0] - [occ_w / 2, occ_h / 2])

    # Step 8: the bar (moved at every cut), boxes, textures, background.
    bar = max(3, short_side // 40)
    segments = [0, *cuts, num_frames]
    for s0, s1 in zip(segments[:-1], segments[1:]):
        target_x = centres[s0, 0, 0]
        for _ in range(20):
            bar_x = int(rng.integers(width // 8, width - width // 8))
            if abs(bar_x - target_x) > half[s0, 0, 0] + bar + 2:
                break
        occluder_boxes[s0:s1, 1] = [bar_x, -1, bar, height + 2]
    motion = _Motion(widths, heights, centres, limits, pad)
    object_boxes = _integer_boxes(motion)
    # Every distractor passes behind the target: its absences are the planned ones (a
    # look-alike drawn in front could hide it whole and add absences LaSOT's rates do not have).
    draw_order = list(range(1, num_objects)) + [0]
    occluder_textures = _occluder_textures(rng, looks.hue)
    background = background_image(rng, height + 2 * camera_margin, width + 2 * camera_margin)
    return Scene(image_size=(height, width), margin=camera_margin, background=background,
                 shake=camera, shape=shape, object_boxes=object_boxes,
                 object_textures=looks.textures, object_gain=looks.gain,
                 object_rotation=looks.rotation, draw_order=draw_order,
                 occluder_boxes=occluder_boxes, occluder_textures=occluder_textures)


def _outside(point: np.ndarray, limits: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """The point just outside the image through the side nearest to `point`."""
    gaps = np.array([point[0], limits[0] - point[0], point[1], limits[1] - point[1]])
    out = point.astype(np.float64).copy()
    side = int(np.argmin(gaps))
    if side == 0:
        out[0] = -reach[0]
    elif side == 1:
        out[0] = limits[0] + reach[0]
    elif side == 2:
        out[1] = -reach[1]
    else:
        out[1] = limits[1] + reach[1]
    return out


# ----------------------------------------------------------------------------- annotations


def target_annotations(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """The target's LaSOT-style annotation from the plan alone, without rendering: (boxes
    (F, 4) xywh clipped to the image, NaN when absent; absent (F,) bool). Absent = no pixel of
    the target's silhouette is drawn: its box lies outside the image, or the occluders
    (rectangles drawn over everything) and the objects drawn after it (their silhouettes)
    cover every pixel of it inside the image. This is what `generate_sequence` derives from the
    rendered object-id mask, for any preset (tests compare the two)."""
    height, width = scene.image_size
    boxes = scene.object_boxes[:, 0].astype(np.float64)
    x0, y0 = np.clip(boxes[:, 0], 0, width), np.clip(boxes[:, 1], 0, height)
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    clipped = np.stack([x0, y0, x1 - x0, y1 - y0], axis=-1)
    absent = ~((x1 > x0) & (y1 > y0))
    in_front = scene.draw_order[scene.draw_order.index(0) + 1:]
    silhouettes: dict[tuple[int, int], np.ndarray] = {}

    def silhouette(h: int, w: int) -> np.ndarray:
        if (h, w) not in silhouettes:
            silhouettes[(h, w)] = shape_mask(scene.shape, h, w)
        return silhouettes[(h, w)]

    def overlapping(cover: np.ndarray, t: int) -> np.ndarray:
        return cover[(cover[:, 2] > 0) & (cover[:, 3] > 0) & (cover[:, 0] < x1[t])
                     & (cover[:, 0] + cover[:, 2] > x0[t]) & (cover[:, 1] < y1[t])
                     & (cover[:, 1] + cover[:, 3] > y0[t])]

    for t in np.flatnonzero(~absent):
        occ = overlapping(scene.occluder_boxes[t], t)
        objects = overlapping(scene.object_boxes[t, in_front], t) if in_front else occ[:0]
        if not len(occ) and not len(objects):
            continue
        if np.any((occ[:, 0] <= x0[t]) & (occ[:, 0] + occ[:, 2] >= x1[t])
                  & (occ[:, 1] <= y0[t]) & (occ[:, 1] + occ[:, 3] >= y1[t])):
            absent[t] = True  # one occluder covers the whole visible box
            continue
        bx, by, bw, bh = (int(v) for v in scene.object_boxes[t, 0])
        uncovered = silhouette(bh, bw).copy()
        uncovered[:, :max(0, -bx)] = False  # outside the image
        uncovered[:max(0, -by)] = False
        uncovered[:, max(0, width - bx):] = False
        uncovered[max(0, height - by):] = False
        for ox, oy, ow, oh in occ:
            uncovered[max(0, oy - by):max(0, oy + oh - by),
                      max(0, ox - bx):max(0, ox + ow - bx)] = False
        for ox, oy, ow, oh in objects:
            ox, oy, ow, oh = int(ox), int(oy), int(ow), int(oh)
            # the part of the other object's silhouette that lies over the target's box
            ya, yb = max(oy, by), min(oy + oh, by + bh)
            xa, xb = max(ox, bx), min(ox + ow, bx + bw)
            if ya < yb and xa < xb:
                cover = silhouette(oh, ow)[ya - oy:yb - oy, xa - ox:xb - ox]
                uncovered[ya - by:yb - by, xa - bx:xb - bx] &= ~cover
        absent[t] = not uncovered.any()
    clipped[absent] = np.nan
    return clipped, absent
