"""Annotated videos that always play: H.264 through imageio-ffmpeg, finalised on every exit.

`VideoWriter(path, (width, height), fps)` writes to a temporary file beside `path` and
`close()` finalises the container and renames it over `path`, so a video is either absent or
complete and playable, including after SIGINT/SIGTERM or an error (the callers close it in
those cases; only SIGKILL leaves the temporary file behind).

Encoder: H.264 (libx264, yuv420p, which browsers play) with the ffmpeg binary that the
`imageio-ffmpeg` wheel ships, fed raw frames through a pipe. It runs in its own session, so a
Ctrl-C in the terminal reaches only this process (which then closes the video), and it is
started without a Python pre-exec hook (no fork warning once JAX runs). Where that package is
missing, OpenCV's writer (MPEG-4 part 2
`mp4v` for .mp4/.mov/.mkv, Motion-JPEG for .avi), with a message saying so. Frames of another
size than the first are resized to it (never dropped); odd sizes are padded by one black
pixel row/column, which H.264 in yuv420p needs.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

import cv2
import numpy as np

SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")


def check_video_path(path) -> pathlib.Path:
    """ValueError naming `path` when its suffix is not one of SUFFIXES or it is a folder."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"--video {path}: unsupported extension {path.suffix or '(none)'!r}; "
                         f"use one of {', '.join(SUFFIXES)}")
    if path.is_dir():
        raise ValueError(f"--video {path} is an existing folder; give a file name such as "
                         f"{path / 'annotated.mp4'}")
    return path


def _ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def encoder_name() -> str:
    return "H.264 (imageio-ffmpeg)" if _ffmpeg_exe() else "OpenCV"


class VideoWriter:
    """Writes BGR uint8 frames; see the module docstring. Use as a context manager or call
    `close()`; `frames` counts the frames written."""

    def __init__(self, path, size_wh: tuple[int, int], fps: float, log=None):
        self.path = check_video_path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        width, height = (int(v) for v in size_wh)
        self.size_wh = (width, height)
        self.padded_wh = (width + width % 2, height + height % 2)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.",
                                   suffix=f".partial{self.path.suffix}")
        os.close(fd)
        self._tmp = pathlib.Path(tmp)
        self.frames = 0
        self._ffmpeg = None
        self._cv = None
        log = log or (lambda message: print(message, file=sys.stderr))
        exe = _ffmpeg_exe()
        if exe is not None:
            command = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
                       "-s", f"{self.padded_wh[0]}x{self.padded_wh[1]}", "-r", f"{float(fps)}",
                       "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                       "-crf", "23", "-preset", "veryfast"]
            if self.path.suffix.lower() in (".mp4", ".mov"):
                command += ["-movflags", "+faststart"]
            self._log = tempfile.TemporaryFile()
            self._ffmpeg = subprocess.Popen(command + [str(self._tmp)], stdin=subprocess.PIPE,
                                            stdout=subprocess.DEVNULL, stderr=self._log,
                                            start_new_session=True)
            self.encoder = "H.264"
        else:
            fourcc = "MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"
            log(f"note: imageio-ffmpeg is not installed, so {self.path} is written with "
                f"OpenCV's {fourcc} encoder, which browsers may not play "
                f"(pip install imageio-ffmpeg for H.264)")
            self._cv = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*fourcc),
                                       float(fps), self.padded_wh)
            if not self._cv.isOpened():
                self._tmp.unlink(missing_ok=True)
                raise ValueError(f"--video {self.path}: OpenCV cannot write {fourcc} video here")
            self.encoder = fourcc

    def write(self, image_bgr: np.ndarray) -> None:
        image = np.asarray(image_bgr)
        if image.shape[1::-1] != self.size_wh:
            image = cv2.resize(image, self.size_wh, interpolation=cv2.INTER_AREA)
        if self.padded_wh != self.size_wh:
            image = cv2.copyMakeBorder(image, 0, self.padded_wh[1] - self.size_wh[1], 0,
                                       self.padded_wh[0] - self.size_wh[0],
                                       cv2.BORDER_CONSTANT, value=(0, 0, 0))
        image = np.ascontiguousarray(image, dtype=np.uint8)
        if self._ffmpeg is not None:
            try:
                self._ffmpeg.stdin.write(image.tobytes())
            except BrokenPipeError:
                raise OSError(f"--video {self.path}: the ffmpeg encoder stopped: "
                              f"{self._ffmpeg_message()}") from None
        else:
            self._cv.write(image)
        self.frames += 1

    def close(self) -> pathlib.Path | None:
        """Finalises the container and renames it to `path`; returns `path` (None when no
        frame was written: then no file is left)."""
        if self._ffmpeg is None and self._cv is None:
            return self.path if self.path.exists() else None
        if self._ffmpeg is not None:
            process, self._ffmpeg = self._ffmpeg, None
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass
            if process.wait() != 0:
                self._tmp.unlink(missing_ok=True)
                raise OSError(f"--video {self.path}: ffmpeg failed: {self._ffmpeg_message()}")
        else:
            self._cv.release()
            self._cv = None
        if self.frames == 0:
            self._tmp.unlink(missing_ok=True)
            return None
        os.chmod(self._tmp, 0o644)
        os.replace(self._tmp, self.path)
        return self.path

    def _ffmpeg_message(self) -> str:
        self._log.seek(0)
        text = self._log.read().decode(errors="replace").strip().splitlines()
        return text[-1] if text else "no message"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
