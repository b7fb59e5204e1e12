"""dmtrack_common.frames on files it writes: order, colour, videos, clear errors."""

import cv2
import numpy as np
import pytest

from dmtrack_common import frames


def _write(path, bgr_value):
    image = np.zeros((6, 8, 3), np.uint8)
    image[:] = bgr_value
    assert cv2.imwrite(str(path), image)


def test_folder_frames_in_numeric_order_as_rgb(tmp_path):
    for number, blue in [(10, 30), (2, 20), (1, 10)]:
        _write(tmp_path / f"{number}.png", (blue, 0, 200))  # BGR on disk
    (tmp_path / "notes.txt").write_text("not a frame")
    listed = frames.list_frames(tmp_path)
    assert [p.name for p in listed] == ["1.png", "2.png", "10.png"]  # not 1, 10, 2
    read = list(frames.read_frames(tmp_path))
    assert [int(f[0, 0, 2]) for f in read] == [10, 20, 30]  # blue is channel 2 in RGB
    assert read[0].dtype == np.uint8 and read[0].shape == (6, 8, 3) and read[0][0, 0, 0] == 200
    assert frames.count_frames(tmp_path) == 3
    assert [p.name for p in frames.numbered_frames(tmp_path, [2, 10])] == ["2.png", "10.png"]
    with pytest.raises(FileNotFoundError, match="1 of 2 frames missing, first .*00000003.jpg"):
        frames.numbered_frames(tmp_path, [1, 3], digits=8)


def test_video_frames_and_errors(tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for k in range(5):
        writer.write(np.full((24, 32, 3), 40 * k, np.uint8))
    writer.release()
    read = list(frames.read_frames(video))
    assert len(read) == 5 and read[0].shape == (24, 32, 3)
    assert [int(round(f.mean() / 40)) for f in read] == [0, 1, 2, 3, 4]
    assert frames.count_frames(video) == 5
    with pytest.raises(FileNotFoundError, match="no such video or frame folder"):
        next(frames.read_frames(tmp_path / "missing.mp4"))
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(ValueError, match="cannot read video .*bad.mp4"):
        next(frames.read_frames(tmp_path / "bad.mp4"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no image frames"):
        next(frames.read_frames(empty))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(ValueError, match="unreadable image .*broken.jpg"):
        frames.load_frame(tmp_path / "broken.jpg")
    with pytest.raises(ValueError, match="undecodable image bytes from x.jpg"):
        frames.decode_frame(b"junk", source="x.jpg")


def test_grayscale_rgba_and_16_bit_frames_load_as_uint8_rgb(tmp_path):
    gray = np.full((5, 7), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "1.png"), gray)
    rgba = np.zeros((5, 7, 4), np.uint8)
    rgba[..., 0], rgba[..., 2], rgba[..., 3] = 200, 10, 0  # BGRA, fully transparent
    cv2.imwrite(str(tmp_path / "2.png"), rgba)
    cv2.imwrite(str(tmp_path / "3.png"), np.full((5, 7, 3), 257 * 40, np.uint16))
    loaded = list(frames.read_frames(tmp_path))
    assert [f.shape for f in loaded] == [(5, 7, 3)] * 3 and all(f.dtype == np.uint8 for f in loaded)
    assert np.all(loaded[0] == 90)
    assert tuple(loaded[1][0, 0]) == (10, 0, 200)  # RGB; alpha dropped
    assert np.all(loaded[2] == 40)  # 16 bits scaled to 8


def test_a_truncated_jpeg_is_decoded_as_far_as_it_goes_with_a_warning(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    data = cv2.imencode(".jpg", image)[1].tobytes()
    path = tmp_path / "00000001.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    warnings = []
    [frame] = list(frames.read_frames(tmp_path, on_warning=warnings.append))
    assert frame.shape == (64, 64, 3)
    assert warnings == [f"truncated JPEG (no end-of-image marker): {path}; its missing part is "
                        f"grey"]
    assert frames.truncation_warning(data, "x") is None
    png = cv2.imencode(".png", image)[1].tobytes()
    assert frames.truncation_warning(png, "x") is None
    assert "truncated PNG" in frames.truncation_warning(png[:-30], "x")
    # Bytes that decode not at all are an error naming the file, warning or not.
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="unreadable image .*00000001.jpg"):
        list(frames.read_frames(tmp_path, on_warning=warnings.append))
