"""Reading frames: image files, encoded bytes, frame folders and video files, as uint8 RGB.

The one reader of frames in the project: dataset readers, the samplers, the benchmark runner
and `dmtrack track` all use it, so a frame folder means the same thing everywhere (the image
suffixes below, numeric order when the names are numbers).
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable, Iterator, Optional

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


Warning = Callable[[str], None]


def truncation_warning(data: bytes, source: str) -> Optional[str]:
    """A message naming `source` when encoded JPEG or PNG bytes end early (no JPEG end-of-image
    marker / no PNG IEND chunk): decoders then fill the missing part with grey, and libjpeg's
    own "Premature end of JPEG file" goes only to the process's stderr. None otherwise."""
    if data[:3] == b"\xff\xd8\xff" and b"\xff\xd9" not in data[-1024:]:
        return f"truncated JPEG (no end-of-image marker): {source}; its missing part is grey"
    if data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-64:]:
        return f"truncated PNG (no IEND chunk): {source}; its missing part is grey"
    return None


def _decode_truncated(data: bytes) -> Optional[np.ndarray]:
    """BGR of a truncated JPEG/PNG as far as it goes (the rest grey), with Pillow's lenient
    decoder; None when even that fails."""
    import io

    from PIL import Image, ImageFile

    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with Image.open(io.BytesIO(data)) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError):
        return None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def load_frame(path: str | os.PathLike, on_warning: Optional[Warning] = None) -> np.ndarray:
    """Reads one image file as uint8 RGB (H, W, 3) (grayscale and RGBA images are converted,
    16-bit ones scaled to 8 bits).

    Raises FileNotFoundError for a missing file and ValueError naming the path for one that
    OpenCV cannot decode (OpenCV itself returns None rather than raising). With `on_warning`,
    a truncated JPEG/PNG is decoded as far as it goes (OpenCV, else Pillow's lenient decoder;
    the missing part grey) and reported to it (`truncation_warning`); one that decodes not at
    all is the ValueError above.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"frame not found: {path}")
    if on_warning is None:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
    else:
        with open(path, "rb") as f:
            data = f.read()
        warning = truncation_warning(data, path)
        buffer = np.frombuffer(data, dtype=np.uint8)
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
        if image is None and warning:
            image = _decode_truncated(data)  # OpenCV refuses what libjpeg can still show
        if image is not None and warning:
            on_warning(warning)
    if image is None:
        raise ValueError(f"unreadable image (corrupt or unsupported format): {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def decode_frame(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decodes encoded image bytes (JPEG/PNG) to uint8 RGB (H, W, 3); `source` names it in
    the ValueError raised for undecodable bytes."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if image is None:
        raise ValueError(f"undecodable image bytes from {source}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _frame_order(path: pathlib.Path):
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.stem)


def list_frames(folder: str | os.PathLike) -> list[pathlib.Path]:
    """Image files (IMAGE_SUFFIXES) of a folder in frame order: numeric where the names are
    numbers (`2.jpg` before `10.jpg`), then the others by name.

    Raises FileNotFoundError for a missing folder or one without image files.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"missing frame folder: {folder}")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise FileNotFoundError(f"no image frames ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return sorted(files, key=_frame_order)


def count_frames(source: str | os.PathLike) -> int:
    """Frames in a folder (exact) or a video file (as the container reports it; 0 if
    unknown)."""
    source = pathlib.Path(source)
    if source.is_dir():
        return len([p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES])
    capture = cv2.VideoCapture(str(source))
    n = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return max(n, 0)


def read_frames(source: str | os.PathLike,
                on_warning: Optional[Warning] = None) -> Iterator[np.ndarray]:
    """Yields the uint8 RGB (H, W, 3) frames of a video file or of a frame folder (in
    `list_frames` order).

    Raises FileNotFoundError for a missing source or an empty folder, ValueError for a file
    OpenCV cannot decode as a video or an unreadable image in the folder (naming the image,
    when the iteration reaches it). `on_warning` receives a message naming each truncated
    image that still decodes (`load_frame`). A video whose stream stops early simply ends:
    compare the frames read with `count_frames` to tell.
    """
    source = pathlib.Path(source)
    if not source.exists():
        raise FileNotFoundError(f"no such video or frame folder: {source}")
    if source.is_dir():
        for path in list_frames(source):
            yield load_frame(path, on_warning)
        return
    capture = cv2.VideoCapture(str(source))
    ok, image = capture.read() if capture.isOpened() else (False, None)
    if not ok:
        capture.release()
        raise ValueError(f"cannot read video {source} (not a video OpenCV can decode, or empty)")
    try:
        while ok:
            yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            ok, image = capture.read()
    finally:
        capture.release()


def numbered_frames(folder: str | os.PathLike, numbers, digits: int = 0,
                    suffix: str = ".jpg") -> list[pathlib.Path]:
    """The image files of `folder` for the frame `numbers`, in that order, with one directory
    listing.

    A file is frame k when its stem is the number k (any zero padding) and its suffix is one of
    IMAGE_SUFFIXES. `digits` and `suffix` give the layout's own spelling (`%0<digits>d<suffix>`),
    used only to name a missing frame. Raises FileNotFoundError
    ``"<folder>: <k> of <n> frames missing, first <folder>/<name>"`` when some are absent (a
    missing folder counts as an empty one).
    """
    folder = pathlib.Path(folder)
    by_number: dict[int, pathlib.Path] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.stem.isdigit():
                by_number.setdefault(int(path.stem), path)
    numbers = [int(k) for k in numbers]
    missing = [k for k in numbers if k not in by_number]
    if missing:
        raise FileNotFoundError(
            f"{folder}: {len(missing)} of {len(numbers)} frames missing, first "
            f"{folder / f'{missing[0]:0{digits}d}{suffix}'}")
    return [by_number[k] for k in numbers]
