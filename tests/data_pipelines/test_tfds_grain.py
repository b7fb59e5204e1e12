"""tfds ArrayRecord round trip (no TensorFlow) and grain loaders: restore, determinism, shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from data_pipelines import datasets, loader, tfds_builders, writers
from data_pipelines.config import default_data_config
from data_pipelines.sampling import FrameSource
from dmtrack_apps import cli
from dmtrack_common.frames import load_frame


def tiny_config(sequences: int = 3, frames: int = 16):
    config = default_data_config("tiny")
    config.sources.synthetic.sequences = sequences
    config.sources.synthetic.frames = frames
    return config


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Synthetic LaSOT and MOT17 layouts on disk, and their tfds builds."""
    root = tmp_path_factory.mktemp("tfds")
    paths = {source: str(root / source) for source in tfds_builders.TFDS_SOURCES}
    paths["tfds"] = str(root / "tfds")
    for seed, source in enumerate(tfds_builders.TFDS_SOURCES):
        frames = 40 if source == "lasot" else 8  # LaSOT: long enough for absent frames
        options = {"training_set": True} if source == "lasot" else {}  # its own training list
        writers.write_dataset(paths[source], source, 2, frames, seed, (64, 80), **options)
        tfds_builders.prepare_tfds(source, paths[source], paths["tfds"])
    return paths


def assert_same_sequences(got, want):
    assert [s.name for s in got] == [s.name for s in want]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.boxes, b.boxes)  # NaN rows compare equal positionally
        np.testing.assert_array_equal(a.absent, b.absent)
        assert (a.object_class, a.ids_are_identities, a.image_size) == \
            (b.object_class, b.ids_are_identities, b.image_size)
        assert (a.cover is None) == (b.cover is None)
        if a.cover is not None:
            np.testing.assert_array_equal(a.cover, b.cover)
        assert (a.tracks is None) == (b.tracks is None)
        if a.tracks is not None:
            assert sorted(a.tracks) == sorted(b.tracks)
            for key in a.tracks:
                np.testing.assert_array_equal(a.tracks[key], b.tracks[key])


@pytest.mark.parametrize("source", tfds_builders.TFDS_SOURCES)
def test_tfds_reads_back_equal_to_source(written, source):
    original = datasets.read_dataset(source, written[source])
    if source == "lasot":
        assert sum(int(s.absent.sum()) for s in original) > 0  # absent/NaN rows are exercised
    loaded = tfds_builders.load_tfds_source(source, written["tfds"])
    assert_same_sequences(loaded.sequences, original)
    for seq_index, seq in enumerate(original):
        for t in range(0, len(seq), 3):
            np.testing.assert_array_equal(loaded.read_frame(seq_index, t),
                                          load_frame(seq.frame_paths[t]))


def test_sampler_over_tfds_equals_sampler_over_files(written):
    files = FrameSource("lasot", datasets.read_dataset("lasot", written["lasot"]))
    from_tfds = tfds_builders.load_tfds_source("lasot", written["tfds"])
    config = tiny_config()
    batches = []
    for source in (files, from_tfds):
        sampler = loader.build_sampler(config, sources=[source], weights=[1.0])
        batches.append(sampler.sot_batch(7))
    for key in batches[0]:
        np.testing.assert_array_equal(batches[0][key], batches[1][key])


def test_prepare_command_line(tmp_path, capsys):
    root = str(tmp_path / "lasot")
    writers.write_dataset(root, "lasot", 1, 4, 3, (48, 64), training_set=True)
    out = str(tmp_path / "out")
    assert cli.main(["prepare-tfds", "--source", "lasot", "--manual_dir", root,
                     "--data_dir", out]) == 0
    assert len(tfds_builders.read_tfds_sequences("lasot", out)[0]) == 4
    assert cli.main(["prepare-tfds", "--source", "lasot", "--manual_dir",
                     str(tmp_path / "missing"), "--data_dir", out]) == 2
    assert "manual_dir not found" in capsys.readouterr().err


def test_missing_tfds_dataset_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no prepared tfds dataset at .*dmtrack_got10k"):
        tfds_builders.load_tfds_source("got10k", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="manual_dir not found"):
        tfds_builders.prepare_tfds("lasot", str(tmp_path / "nope"), str(tmp_path))


def batches_equal(a, b) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_grain_restore_yields_the_uninterrupted_batch():
    config = tiny_config()
    sampler = loader.build_sampler(config)
    uninterrupted = loader.make_train_iterator(config, sampler=sampler)
    next(uninterrupted), next(uninterrupted)
    # The lead stores the state as JSON via orbax: round-trip it through text.
    saved = json.loads(json.dumps({"bytes": uninterrupted.get_state().decode()}))
    expected = [next(uninterrupted), next(uninterrupted)]
    resumed = loader.make_train_iterator(config, sampler=sampler)
    resumed.set_state(saved["bytes"].encode())
    assert batches_equal(next(resumed), expected[0])
    assert batches_equal(next(resumed), expected[1])
    # The batch is the sampler's pure function of its key: batch k of process 0 has key k.
    assert batches_equal(expected[0], sampler.sot_batch(2))


def test_grain_is_deterministic_per_seed_and_sharded_per_process():
    config = tiny_config()
    first = [next(loader.make_train_iterator(config, seed=s)) for s in (5, 5, 6)]
    assert batches_equal(first[0], first[1])
    assert not batches_equal(first[0], first[2])
    sampler = loader.build_sampler(config)
    p0 = loader.make_train_iterator(config, process_index=0, process_count=2, sampler=sampler)
    p1 = loader.make_train_iterator(config, process_index=1, process_count=2, sampler=sampler)
    b0, b1 = next(p0), next(p1)
    assert not batches_equal(b0, b1)
    # Contiguous key ranges: process 1 starts at half the key space.
    assert batches_equal(b1, sampler.sot_batch(loader.NUM_BATCH_KEYS // 2))
    with pytest.raises(ValueError, match="process_index 2"):
        loader.make_train_iterator(config, process_index=2, process_count=2, sampler=sampler)


def test_batches_have_static_shapes_from_the_known_set():
    config = tiny_config()
    sampler = loader.build_sampler(config)
    for kind in ("sot", "reid"):
        allowed = [{k: tuple(v) for k, v in s.items()} for s in loader.batch_shapes(config, kind)]
        assert len(allowed) == 2  # tiny: canvases 128x160 and 160x128
        iterator = loader.make_train_iterator(config, kind=kind, sampler=sampler)
        for _ in range(4):
            batch = next(iterator)
            assert {k: v.shape for k, v in batch.items()} in allowed
            assert all(v.dtype == (np.float32 if "image" in k or "boxes" in k
                                   else np.int32 if k == "ids" else bool)
                       for k, v in batch.items())
    assert {tuple(s["search_image"][1:3]) for s in loader.batch_shapes(config)} == \
        {(128, 160), (160, 128)}


def test_reid_labels_cover_the_synthetic_identities():
    config = tiny_config(sequences=2, frames=12)
    # Synthetic: 2 videos x (target + 3 distractors), each its own identity.
    assert loader.num_identities(config) == 8
    batch = next(loader.make_train_iterator(config, kind="reid"))
    ids = batch["ids"][batch["box_valid"]]
    assert ids.size and ids.min() >= 0 and ids.max() < 8
    assert (batch["ids"][~batch["box_valid"]] == -1).all()


def test_bad_data_configs_raise():
    config = tiny_config()
    config.sources.lasot.weight = 1.0
    with pytest.raises(ValueError, match="sources.lasot.root"):
        loader.build_sources(config)
    config = tiny_config()
    config.sources.synthetic.weight = 0.0
    config.sources.synthetic.reid_weight = 0.0
    with pytest.raises(ValueError, match="no data source enabled"):
        loader.build_sources(config)
    config = tiny_config()
    config.sources.synthetic.reid_weight = 0.0
    with pytest.raises(ValueError, match="no source has reid_weight"):
        loader.make_train_iterator(config, kind="reid")
    with pytest.raises(ValueError, match="unknown data recipe"):
        default_data_config("huge")


def test_multi_worker_loader_matches_in_process(tmp_path):
    """One worker process gives the same batches as none (the batch is a function of its key)."""
    config = tiny_config(sequences=2, frames=10)
    config.worker_count = 1
    sampler = loader.build_sampler(config)
    with_worker = loader.make_train_iterator(config, sampler=sampler)
    got = [next(with_worker) for _ in range(2)]
    for k, batch in enumerate(got):
        assert batches_equal(batch, sampler.sot_batch(k))
    del with_worker


def test_tfds_build_of_another_split_is_refused_for_training(tmp_path):
    """A build holding every sequence (split 'all', which for LaSOT includes the test set)
    never stands in for the training split the data config asks for by default."""
    root = str(tmp_path / "lasot")
    writers.write_dataset(root, "lasot", 2, 4, 5, (48, 64))
    out = str(tmp_path / "tfds")
    assert cli.main(["prepare-tfds", "--source", "lasot", "--manual_dir", root,
                     "--data_dir", out, "--split", "all"]) == 0
    assert tfds_builders.prepared_split("lasot", out) == "all"
    with pytest.raises(ValueError, match=r"prepared from split 'all' but sources.lasot.split "
                                         r"asks for 'train'.*--split train"):
        tfds_builders.load_tfds_source("lasot", out)
    assert len(tfds_builders.load_tfds_source("lasot", out, "all").sequences) == 2
    config = default_data_config("tiny")
    config.sources.synthetic.weight = config.sources.synthetic.reid_weight = 0.0
    config.sources.lasot.tfds_dir, config.sources.lasot.weight = out, 1.0
    with pytest.raises(ValueError, match="prepared from split 'all'"):
        loader.build_sampler(config, seed=0)
