"""`dmtrack vot --checkpoint C [--config.tracker.FIELD=VALUE ...]`: dmtrack as a TraX tracker
that the VOT toolkit launches (one process per sequence, as the toolkit runs trackers).

The protocol is spoken through the `vot-trax` package (PyPI; module `trax`, `trax.server.Server`),
on the process's stdin/stdout as the toolkit's client expects (`vot.tracker.trax.TrackerProcess`
in `vot-toolkit` connects to the tracker's pipes; lines that are not TraX messages, such as our
notes on stderr, which the toolkit merges into the same pipe, are logged by the client, not
parsed). The conventions used, and where they come from:

* Handshake: the server offers the region formats `rectangle` and `polygon` and the image
  format `path` on the `color` channel (`trax.region.Region.RECTANGLE/POLYGON`,
  `trax.image.Image.PATH`, `trax.image.ImageChannel.COLOR`); the toolkit always sends frames
  as file paths (`vot.tracker.trax.convert_frame` builds `trax.image.FileImage`s). One object
  per sequence (no `multiobject` flag): the long-term stacks (`vot2022/longterm`, ...) are
  single-target.
* Initialisation: the region is a rectangle `x, y, w, h` (top-left corner, width, height, in
  pixels of the image) or a polygon; a polygon becomes its axis-aligned bounding box
  `min x, min y, max x - min x, max y - min y`, as the toolkit converts polygons to rectangles
  (`vot.region.shapes.Rectangle.convert`). The box goes to `Tracker.initialize` unchanged,
  exactly as `dmtrack track --box x,y,w,h` passes it, so a toolkit run and a `dmtrack track`
  run on the same frames give the same rows. The reply to `initialize` is that box with
  `confidence` 1 (the toolkit stores frame 1 as the initialisation marker `1`).
* Each frame: the reply is one rectangle `x, y, w, h` (the tracker's box in the frame's pixels;
  held at the last present box while the target is judged absent) with the property
  `confidence` (the tracker's confidence in [0, 1]). The long-term analyses read the
  `confidence` property of every frame (`vot.analysis.longterm`: `trajectory.properties(i)
  .get('confidence', 0)`) and store it as `<seq>_001_confidence.value` beside `<seq>_001.txt`
  (`vot.tracker.results.Trajectory.write`). TraX carries numbers as 32-bit floats, so stored
  boxes agree with `dmtrack track`'s 4-decimal rows to about 1e-4 pixel.
* Session: one `Tracker` (one jitted network) is built once per process, after the handshake
  (whose client timeout is 30 s) and before the first reply (the `timeout` of trackers.ini,
  600 s in the README's example), and used for every `initialize` the client sends. The toolkit
  starts one process per sequence (`vot.tracker.trax.TraxTrackerRuntime`, stopped when the
  sequence ends) and sends that sequence's initialisations (repetitions, re-initialisation
  after a failure in supervised experiments) to the same process unless trackers.ini sets
  `restart = true`. `quit` ends the process with status 0; a client that goes away without
  it, 1.

Errors (a checkpoint that cannot be loaded, a bad override, an unreadable frame, a region that
is neither a rectangle nor a polygon) end the session with a TraX `quit` carrying the reason,
which the toolkit reports, and one line `dmtrack vot: error: ...` on stderr.
"""

from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from dmtrack_apps.errors import UserError
from dmtrack_common.frames import load_frame

TRACKER_NAME = "dmtrack"
TRACKER_DESCRIPTION = ("DMTrack (CVPR 2021) in JAX/Flax: distractor-aware global search with "
                       "dynamic convolutions and MOT-style association")


def region_to_box(region) -> np.ndarray:
    """A TraX region -> (4,) float64 x, y, w, h.

    `trax.region.Rectangle`: its `bounds()` (x, y, width, height). `trax.region.Polygon`: the
    axis-aligned bounding box of its points, (min x, min y, max x - min x, max y - min y), the
    conversion of `vot.region.shapes.Rectangle.convert`. Anything else (a mask, a special
    region) raises ValueError.
    """
    from trax.region import Polygon, Rectangle

    if isinstance(region, Rectangle):
        return np.asarray(region.bounds(), np.float64)
    if isinstance(region, Polygon):
        points = np.asarray(list(region), np.float64).reshape(-1, 2)
        left, top = points.min(axis=0)
        right, bottom = points.max(axis=0)
        return np.asarray([left, top, right - left, bottom - top], np.float64)
    raise ValueError(f"initial region {region}: dmtrack vot accepts rectangles and polygons")


def _frame_path(request) -> str:
    from trax import ImageChannel
    from trax.image import FileImage

    image = (request.image or {}).get(ImageChannel.COLOR)
    if not isinstance(image, FileImage):
        raise ValueError("the client sent no color image as a file path (dmtrack vot asks for "
                         "the `path` image format on the `color` channel)")
    return image.path()


def _reply(server, box, confidence: float) -> None:
    from trax import Rectangle

    x, y, w, h = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    server.status([(Rectangle.create(x, y, w, h), {"confidence": float(confidence)})])


def serve(server, make_tracker: Callable[[], object],
          read_frame: Callable[[str], np.ndarray] = load_frame) -> int:
    """Answers the client's requests until `quit` (or end of input); returns 0.

    `server`: a `trax.server.Server` after its handshake. `make_tracker()` builds the tracker
    (called once, before the first request is answered, so that its cost is not charged to a
    frame). Each `initialize` (re)initialises that same tracker; each `frame` tracks one frame.
    Raises what the tracker or the frame reader raise; the caller turns it into a `quit`.
    """
    from trax import TraxStatus

    tracker = make_tracker()
    initialized = False
    while True:
        request = server.wait()
        if request.type == TraxStatus.QUIT:
            return 0
        if request.type == TraxStatus.INITIALIZE:
            if not request.objects:
                raise ValueError("initialize without a region")
            box = region_to_box(request.objects[0][0])
            tracker.initialize(read_frame(_frame_path(request)), box)
            initialized = True
            _reply(server, box, 1.0)
        elif request.type == TraxStatus.FRAME:
            if not initialized:
                raise ValueError("a frame before initialize")
            frame = read_frame(_frame_path(request))
            result = tracker.track(frame)  # a TrackResult (one target: the box it was given)
            _reply(server, result.box, result.confidence)
        else:
            raise ValueError(f"unexpected TraX request {request.type!r}")


def run(args) -> int:
    try:
        from trax import Image, ImageChannel, Region, TraxException
        from trax.server import Server
    except ImportError as err:
        raise UserError(f"the TraX bindings are missing ({err}); install them with "
                        f"pip install 'dmtrack-jax[vot]' (or pip install vot-trax)") from err

    def make_tracker():
        from dmtrack_jax.tracking.tracker import Tracker

        return Tracker.from_checkpoint(args.checkpoint, config_overrides=args.overrides)

    server = Server([Region.RECTANGLE, Region.POLYGON], [Image.PATH],
                    image_channels=[ImageChannel.COLOR], tracker_name=TRACKER_NAME,
                    tracker_description=TRACKER_DESCRIPTION, tracker_family="dmtrack")
    try:
        code = serve(server, make_tracker)
    except TraxException as err:  # the client went away: nothing to tell it
        print(f"dmtrack vot: TraX session ended: {err}", file=sys.stderr)
        return 1
    except BaseException as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        try:
            server.quit(reason=f"dmtrack vot: {reason}")
        except TraxException:
            pass
        raise
    server.quit()
    return code


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "vot", help="run as a TraX tracker for the VOT toolkit (launched by the toolkit)",
        description="Speak the TraX protocol on stdin/stdout, as the VOT toolkit launches "
                    "trackers (trackers.ini: protocol = trax, command = dmtrack vot "
                    "--checkpoint C). Accepts rectangle and polygon initial regions (a "
                    "polygon is reduced to its bounding box) and reports a rectangle and a "
                    "`confidence` each frame. Tracker settings can be overridden with "
                    "--config.tracker.FIELD=VALUE. Needs the [vot] extra (vot-trax).")
    parser.add_argument("--checkpoint", required=True,
                        help="a training workdir (newest step) or an exported checkpoint folder")
    parser.set_defaults(func=run, accepts_overrides=True)
