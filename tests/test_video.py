"""Annotated videos: H.264 through imageio-ffmpeg, OpenCV's writer (with a note) without it;
one video frame per frame written, frames of another size resized, nothing left half-written."""

import os

import cv2
import numpy as np
import pytest

from dmtrack_apps import video


def _frames():
    rng = np.random.default_rng(0)
    sizes = [(47, 65), (47, 65), (20, 30), (47, 65)]  # odd size; one frame of another size
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in sizes]


def _read(path):
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened()
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    return frames, fourcc


@pytest.mark.skipif(video._ffmpeg_exe() is None, reason="imageio-ffmpeg is not installed")
def test_h264_video_plays_with_every_frame(tmp_path):
    path = tmp_path / "out" / "a.mp4"
    with video.VideoWriter(path, (65, 47), 10) as writer:
        for frame in _frames():
            writer.write(frame)
    frames, fourcc = _read(path)
    assert fourcc == "h264" and len(frames) == 4 and frames[0].shape == (48, 66, 3)
    assert os.listdir(path.parent) == ["a.mp4"]  # the temporary file was renamed


def test_without_imageio_ffmpeg_opencv_writes_it_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(video, "_ffmpeg_exe", lambda: None)
    notes = []
    path = tmp_path / "b.avi"
    writer = video.VideoWriter(path, (65, 47), 10, log=notes.append)
    for frame in _frames():
        writer.write(frame)
    assert writer.close() == path
    frames, fourcc = _read(path)
    assert fourcc == "MJPG" and len(frames) == 4
    assert len(notes) == 1 and "imageio-ffmpeg is not installed" in notes[0] and \
        str(path) in notes[0]


def test_unsupported_extension_and_no_frames(tmp_path):
    with pytest.raises(ValueError, match=r"--video .*v\.gif: unsupported extension '\.gif'"):
        video.check_video_path(tmp_path / "v.gif")
    writer = video.VideoWriter(tmp_path / "empty.mp4", (16, 16), 5)
    assert writer.close() is None and os.listdir(tmp_path) == []
