"""`dmtrack vot` (dmtrack_apps/vot.py) without the VOT toolkit: its TraX conventions with the
`vot-trax` bindings' own region and image classes, the request loop with a scripted server,
and the real process driven by `trax.client.Client` (the class the toolkit's
`vot.tracker.trax.TrackerProcess` uses). The toolkit end to end: test_vot_toolkit.py."""

import collections
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

trax = pytest.importorskip(
    "trax", reason="vot-trax is not installed (pip install 'dmtrack-jax[vot]')")

from trax import ImageChannel, TraxException, TraxStatus  # noqa: E402
from trax.image import FileImage  # noqa: E402
from trax.region import Polygon, Rectangle  # noqa: E402
from trax.server import Request  # noqa: E402

from dmtrack_apps import vot  # noqa: E402
from dmtrack_apps.cli import build_parser  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
Result = collections.namedtuple("Result", "box confidence")  # iterable and with attributes


def test_rectangles_pass_unchanged_and_polygons_become_their_bounding_box():
    np.testing.assert_array_equal(vot.region_to_box(Rectangle.create(3.5, -2, 40, 30.25)),
                                  [3.5, -2, 40, 30.25])
    diamond = Polygon.create([(10.0, 25.0), (30.0, 5.0), (50.0, 25.0), (30.0, 45.0)])
    np.testing.assert_array_equal(vot.region_to_box(diamond), [10, 5, 40, 40])
    rotated = Polygon.create([(12.5, 3.0), (60.0, 10.0), (55.0, 41.5), (8.0, 30.0)])
    np.testing.assert_array_equal(vot.region_to_box(rotated), [8, 3, 52, 38.5])


class ScriptedServer:
    def __init__(self, requests):
        self.requests = list(requests)
        self.replies = []

    def wait(self):
        return self.requests.pop(0)

    def status(self, objects, properties=None):
        [(region, props)] = objects
        self.replies.append((region.bounds(), props))


class FakeTracker:
    def __init__(self):
        self.calls = []

    def initialize(self, frame, box):
        self.calls.append(("initialize", frame[0, 0, 0], tuple(box)))

    def track(self, frame):
        self.calls.append(("track", frame[0, 0, 0]))
        value = float(frame[0, 0, 0])
        return Result(np.array([value, 1.0, 2.0, 3.0]), value / 100)


def _images(index):
    return {ImageChannel.COLOR: FileImage.create(f"/frames/{index:08d}.jpg")}


def test_one_tracker_serves_every_initialization_and_each_frame_gets_box_and_confidence():
    requests = [
        Request(TraxStatus.INITIALIZE, _images(1), [(Rectangle.create(4, 5, 20, 10), {})], {}),
        Request(TraxStatus.FRAME, _images(2), None, {}),
        Request(TraxStatus.FRAME, _images(3), None, {}),
        # Re-initialised (as the redetection experiment does) on the same process, by polygon.
        Request(TraxStatus.INITIALIZE, _images(7),
                [(Polygon.create([(0.0, 0.0), (8.0, 0.0), (8.0, 6.0), (0.0, 6.0)]), {})], {}),
        Request(TraxStatus.FRAME, _images(8), None, {}),
        Request(TraxStatus.QUIT, None, None, {}),
    ]
    server = ScriptedServer(requests)
    trackers = []

    def make_tracker():
        trackers.append(FakeTracker())
        return trackers[-1]

    def read_frame(path):  # frame k is filled with k
        return np.full((4, 4, 3), int(pathlib.Path(path).stem), np.uint8)

    assert vot.serve(server, make_tracker, read_frame) == 0
    [tracker] = trackers
    assert tracker.calls == [("initialize", 1, (4, 5, 20, 10)), ("track", 2), ("track", 3),
                             ("initialize", 7, (0, 0, 8, 6)), ("track", 8)]
    assert [bounds for bounds, _ in server.replies] == [
        (4, 5, 20, 10), (2, 1, 2, 3), (3, 1, 2, 3), (0, 0, 8, 6), (8, 1, 2, 3)]
    assert [float(props["confidence"]) for _, props in server.replies] == [
        1.0, 0.02, 0.03, 1.0, 0.08]


def test_a_frame_before_initialize_is_refused():
    server = ScriptedServer([Request(TraxStatus.FRAME, _images(1), None, {})])
    with pytest.raises(ValueError, match="before initialize"):
        vot.serve(server, FakeTracker, lambda path: np.zeros((4, 4, 3), np.uint8))


def test_vot_is_a_subcommand_that_takes_tracker_overrides():
    args, unknown = build_parser().parse_known_args(
        ["vot", "--checkpoint", "C", "--config.tracker.selection_mode=top1"])
    assert args.func is vot.run and args.accepts_overrides
    assert unknown == ["--config.tracker.selection_mode=top1"]


def test_a_checkpoint_that_cannot_load_ends_the_session_with_the_reason(tmp_path):
    """The process speaks TraX on its pipes (trax.client.Client, as the toolkit connects) and
    tells the client why it stops; the same one line goes to stderr."""
    from trax.client import Client

    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), JAX_PLATFORMS="cpu")
    process = subprocess.Popen(
        [sys.executable, "-m", "dmtrack_apps.cli", "vot", "--checkpoint",
         str(tmp_path / "missing")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, bufsize=0)
    try:
        # A logger callable, as the toolkit passes one (vot-trax 4.0.2's Client cannot be built
        # with log=False: trax_logger_setup refuses None).
        client = Client(stream=(process.stdin.fileno(), process.stdout.fileno()), timeout=120,
                        log=lambda message: None)
        frame = tmp_path / "00000001.jpg"
        frame.write_bytes(b"")
        with pytest.raises(TraxException, match="dmtrack vot: .*missing"):
            client.initialize({ImageChannel.COLOR: FileImage.create(str(frame))},
                              [(Rectangle.create(1, 2, 3, 4), {})], {})
        assert process.wait(timeout=120) == 2
        stderr = process.stderr.read().decode()
        assert "dmtrack vot: error:" in stderr and "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()


def test_without_the_trax_bindings_the_error_is_one_line_naming_the_extra(monkeypatch, capsys):
    from dmtrack_apps.cli import main

    for name in ("trax", "trax.server"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    assert main(["vot", "--checkpoint", "C"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dmtrack vot: error: the TraX bindings")
    assert "dmtrack-jax[vot]" in err[0]
