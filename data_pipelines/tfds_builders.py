"""tfds builders, one per training source, stored as ArrayRecord and read back without TensorFlow.

    dmtrack prepare-tfds --source lasot --manual_dir /data/LaSOT --data_dir /data/tfds
    # then in the data config: sources.lasot.tfds_dir = "/data/tfds"

Each source becomes two tfds datasets (two builder configs of one builder), because one video
has thousands of frames but one small annotation table:

- ``<data_dir>/dmtrack_<source>/annotations/1.0.0``: one record per sequence (name, target
  boxes, absence flags, all tracks with their ids, image size);
- ``<data_dir>/dmtrack_<source>/frames/1.0.0``: one record per frame, in sequence order
  (``disable_shuffling``), holding the ORIGINAL encoded file bytes (no re-encoding, so reading
  back is bit-exact) plus its sequence and frame numbers.

Building needs no TensorFlow: `GeneratorBasedBuilder` with ``file_format="array_record"``
serialises with the protobuf package alone, and reading goes through
`tfds.builder_from_directory(...).as_data_source()` (ArrayRecord random access); images are
decoded with OpenCV. The source dataset is read from tfds' ``manual_dir`` with our readers.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow_datasets as tfds

from data_pipelines import datasets
from data_pipelines.sampling import FrameSource
from data_pipelines.sequence import Sequence
from dmtrack_common.frames import decode_frame

logger = logging.getLogger(__name__)

TFDS_SOURCES = ("lasot", "got10k", "trackingnet", "coco", "mot17")
VERSION = "1.0.0"
CONFIG_ANNOTATIONS, CONFIG_FRAMES = "annotations", "frames"
SPOT_CHECKS = 64  # sequences whose first/last frame records are checked on load


def _annotation_features() -> tfds.features.FeaturesDict:
    return tfds.features.FeaturesDict({
        "name": tfds.features.Scalar(dtype=np.object_),
        "dataset": tfds.features.Scalar(dtype=np.object_),
        "object_class": tfds.features.Scalar(dtype=np.object_),
        "num_frames": tfds.features.Scalar(dtype=np.int64),
        # The sequence's raw annotation (`Sequence.ground_truth`, and NOT `present`), so the
        # derived training views read back exactly (also for a first-box-only annotation).
        "boxes": tfds.features.Tensor(shape=(None, 4), dtype=np.float64),
        "absent": tfds.features.Tensor(shape=(None,), dtype=np.bool_),
        "track_ids": tfds.features.Tensor(shape=(None,), dtype=np.int64),
        "track_boxes": tfds.features.Tensor(shape=(None, None, 4), dtype=np.float64,
                                            encoding="zlib"),  # (K, N, 4)
        "has_tracks": tfds.features.Scalar(dtype=np.bool_),
        "ids_are_identities": tfds.features.Scalar(dtype=np.bool_),
        "image_size": tfds.features.Tensor(shape=(2,), dtype=np.int64),  # (0, 0) = unknown
        "cover": tfds.features.Tensor(shape=(None,), dtype=np.int64),  # GOT-10k; empty = none
    })


def _frame_features() -> tfds.features.FeaturesDict:
    return tfds.features.FeaturesDict({
        "image": tfds.features.Scalar(dtype=np.object_),  # encoded JPEG/PNG bytes
        "sequence": tfds.features.Scalar(dtype=np.int64),
        "frame": tfds.features.Scalar(dtype=np.int64),
    })


class _TrackingSourceBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Shared body of the per-source builders; subclasses set `SOURCE`."""

    SOURCE = ""
    VERSION = tfds.core.Version(VERSION)
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=CONFIG_ANNOTATIONS, description="one record per sequence"),
        tfds.core.BuilderConfig(name=CONFIG_FRAMES, description="one record per frame"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Point manual_dir at the dataset root in its official layout (see DESIGN section 7 / "
        "data_pipelines.datasets); `dmtrack synth --format <layout>` writes a synthetic one.")

    def __init__(self, *, reader_split: str | None = None, **kwargs):
        self._reader_split = reader_split
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        features = (_annotation_features() if self.builder_config.name == CONFIG_ANNOTATIONS
                    else _frame_features())
        # The reader split is recorded so that training can refuse a build of another split
        # (e.g. LaSOT "all", which holds the 280 test sequences) when its config asks for
        # the training split.
        return tfds.core.DatasetInfo(builder=self, features=features, disable_shuffling=True,
                                     description=f"DMTrack training source {self.SOURCE}",
                                     metadata=tfds.core.MetadataDict(
                                         reader_split=self._reader_split or ""))

    def _split_generators(self, dl_manager):
        root = os.fspath(dl_manager.manual_dir)
        sequences = datasets.read_dataset(self.SOURCE, root, split=self._reader_split,
                                          with_frames=self.builder_config.name
                                          != CONFIG_ANNOTATIONS)
        return {"train": self._generate_examples(sequences)}

    def _generate_examples(self, sequences: list[Sequence]):
        for seq_index, seq in enumerate(sequences):
            if self.builder_config.name == CONFIG_ANNOTATIONS:
                yield f"{seq_index:09d}", _annotation_record(seq)
                continue
            for frame_index, path in enumerate(seq.frame_paths):
                with open(path, "rb") as f:
                    data = f.read()
                decode_frame(data, source=path)  # fail at build time, not mid-training
                yield f"{seq_index:09d}/{frame_index:09d}", {
                    "image": data, "sequence": seq_index, "frame": frame_index}


def _annotation_record(seq: Sequence) -> dict:
    tracks = seq.tracks or {}
    ids = np.array(sorted(tracks), dtype=np.int64)
    track_boxes = (np.stack([tracks[int(i)] for i in ids]) if len(ids)
                   else np.zeros((0, len(seq), 4)))
    return {
        "name": seq.name.encode(), "dataset": seq.dataset.encode(),
        "object_class": seq.object_class.encode(), "num_frames": len(seq),
        "boxes": seq.ground_truth, "absent": ~seq.present, "track_ids": ids,
        "track_boxes": track_boxes, "has_tracks": seq.tracks is not None,
        "ids_are_identities": bool(seq.ids_are_identities),
        "image_size": np.array(seq.image_size or (0, 0), dtype=np.int64),
        "cover": np.zeros(0, np.int64) if seq.cover is None else np.asarray(seq.cover, np.int64),
    }


def _make_builder_class(source: str) -> type:
    name = "".join(part.capitalize() for part in ("dmtrack", source))
    return type(name, (_TrackingSourceBuilder,), {"SOURCE": source, "__module__": __name__})


# One registered builder per source: DmtrackLasot -> "dmtrack_lasot", etc.
BUILDERS: dict[str, type] = {source: _make_builder_class(source) for source in TFDS_SOURCES}


def builder_name(source: str) -> str:
    return f"dmtrack_{source}"


def prepare_tfds(source: str, manual_dir: str, data_dir: str, split: str | None = None,
                 progress: bool = False) -> str:
    """Build both configs of the source's dataset under `data_dir`; returns its folder.

    `split` is the reader split (`data_pipelines.datasets`); None means the source's official
    training split (`datasets.TRAINING_SPLITS`, e.g. LaSOT's 1,120 training sequences). The
    split is recorded in the dataset's metadata and checked by `load_tfds_source`.
    """
    if source not in BUILDERS:
        raise ValueError(f"no tfds builder for source {source!r}; expected one of {TFDS_SOURCES}")
    split = split or datasets.TRAINING_SPLITS.get(source)
    if not os.path.isdir(manual_dir):
        raise FileNotFoundError(f"manual_dir not found: {manual_dir}")
    if not progress:
        tfds.disable_progress_bar()
    for config in (CONFIG_ANNOTATIONS, CONFIG_FRAMES):
        builder = BUILDERS[source](config=config, data_dir=data_dir,
                                   file_format="array_record", reader_split=split)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    return os.path.join(data_dir, builder_name(source))


def _data_source(data_dir: str, source: str, config: str):
    path = os.path.join(data_dir, builder_name(source), config, VERSION)
    if not os.path.isfile(os.path.join(path, "dataset_info.json")):
        raise FileNotFoundError(
            f"no prepared tfds dataset at {path}; build it with `dmtrack prepare-tfds "
            f"--source {source} --manual_dir ROOT --data_dir {data_dir}`")
    return tfds.builder_from_directory(path).as_data_source()["train"]


def read_tfds_sequences(source: str, data_dir: str) -> list[Sequence]:
    """The annotation table back as `Sequence`s (frame paths name the tfds frame records)."""
    records = _data_source(data_dir, source, CONFIG_ANNOTATIONS)
    sequences = []
    for index in range(len(records)):
        r = records[index]
        n = int(r["num_frames"])
        name = r["name"].decode()
        tracks = ({int(i): np.asarray(b, np.float64) for i, b in zip(r["track_ids"],
                                                                       r["track_boxes"])}
                  if r["has_tracks"] else None)
        size = tuple(int(v) for v in r["image_size"])
        sequences.append(Sequence(
            name=name, dataset=r["dataset"].decode(),
            frame_paths=[f"tfds:{builder_name(source)}/{name}/{t}" for t in range(n)],
            ground_truth=np.asarray(r["boxes"], np.float64).reshape(-1, 4),
            present=~np.asarray(r["absent"], bool).reshape(-1),
            object_class=r["object_class"].decode(), tracks=tracks,
            ids_are_identities=bool(r["ids_are_identities"]),
            image_size=None if size == (0, 0) else size,
            cover=np.asarray(r["cover"], np.int64) if len(r["cover"]) else None))
    if not sequences:
        raise ValueError(f"tfds dataset {builder_name(source)} under {data_dir} has no sequences")
    return sequences


class TfdsFrames:
    """Frame reader over the frames dataset; reopens the ArrayRecord files in each worker."""

    def __init__(self, source: str, data_dir: str, lengths: list[int]):
        self.source, self.data_dir = source, data_dir
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._records = None

    def __getstate__(self):
        return {**self.__dict__, "_records": None}

    def records(self):
        if self._records is None:
            self._records = _data_source(self.data_dir, self.source, CONFIG_FRAMES)
            if len(self._records) != self.offsets[-1]:
                raise ValueError(
                    f"tfds {builder_name(self.source)} under {self.data_dir}: the frames "
                    f"dataset has {len(self._records)} records but the annotations list "
                    f"{self.offsets[-1]} frames; rebuild both")
        return self._records

    def record(self, seq_index: int, frame_index: int) -> dict:
        record = self.records()[int(self.offsets[seq_index] + frame_index)]
        if record["sequence"] != seq_index or record["frame"] != frame_index:
            raise ValueError(
                f"tfds {builder_name(self.source)} under {self.data_dir}: record for sequence "
                f"{seq_index} frame {frame_index} holds sequence {record['sequence']} frame "
                f"{record['frame']}; the dataset is corrupt or was built out of order")
        return record

    def __call__(self, seq_index: int, frame_index: int) -> np.ndarray:
        return decode_frame(self.record(seq_index, frame_index)["image"],
                            source=f"tfds {builder_name(self.source)} sequence {seq_index} "
                                   f"frame {frame_index}")


def prepared_split(source: str, data_dir: str) -> str:
    """The reader split a prepared dataset was built from ("" if it was not recorded)."""
    path = os.path.join(data_dir, builder_name(source), CONFIG_ANNOTATIONS, VERSION)
    _data_source(data_dir, source, CONFIG_ANNOTATIONS)  # FileNotFoundError naming the command
    return str(tfds.builder_from_directory(path).info.metadata.get("reader_split", "") or "")


def load_tfds_source(source: str, data_dir: str, split: str | None = None) -> FrameSource:
    """A `FrameSource` over a prepared tfds dataset (no TensorFlow, no original files).

    `split`: the reader split the data config asks for (None: the official training split,
    `datasets.TRAINING_SPLITS`). Raises ValueError when the dataset was prepared from another
    split, so a build that holds a benchmark's test sequences never trains by accident.
    """
    wanted = split or datasets.TRAINING_SPLITS.get(source) or ""
    built = prepared_split(source, data_dir)
    if built != wanted:
        raise ValueError(
            f"the tfds dataset {os.path.join(data_dir, builder_name(source))} was prepared "
            f"from split {built or '(unrecorded)'!r} but sources.{source}.split asks for "
            f"{wanted!r}: prepare it again with `dmtrack prepare-tfds --source {source} "
            f"--split {wanted} ...` or set --config.data.sources.{source}.split={built or 'SPLIT'}")
    sequences = read_tfds_sequences(source, data_dir)
    frames = TfdsFrames(source, data_dir, [len(s) for s in sequences])
    step = max(1, len(sequences) // SPOT_CHECKS)
    for seq_index in range(0, len(sequences), step):  # cheap ordering check, no decoding
        frames.record(seq_index, 0)
        frames.record(seq_index, len(sequences[seq_index]) - 1)
    return FrameSource(source, sequences, "image" if source == "coco" else "video", frames)
