"""Official splits: the embedded LaSOT lists (1,120 train + 280 test = 1,400, disjoint, 70 classes
x 20), each training source's default split (datasets.TRAINING_SPLITS) and the opt-in splits."""

from __future__ import annotations

import dataclasses

import pytest

from data_pipelines import datasets, loader, synthetic, writers
from data_pipelines.config import default_data_config
from data_pipelines.datasets.lasot_test_split import LASOT_TEST_SEQUENCES
from data_pipelines.datasets.lasot_train_split import LASOT_TRAIN_SEQUENCES


def test_lasot_lists_partition_the_1400_sequences():
    train, test = set(LASOT_TRAIN_SEQUENCES), set(LASOT_TEST_SEQUENCES)
    assert len(train) == len(LASOT_TRAIN_SEQUENCES) == 1120
    assert len(test) == len(LASOT_TEST_SEQUENCES) == 280
    assert not train & test
    per_class: dict[str, set[int]] = {}
    for name in train | test:
        cls, k = name.rsplit("-", 1)
        per_class.setdefault(cls, set()).add(int(k))
    assert len(per_class) == 70
    assert all(numbers == set(range(1, 21)) for numbers in per_class.values())


def test_training_defaults_are_the_official_training_splits():
    sources = default_data_config("paper").sources
    assert {n: sources[n].split for n in datasets.TRAINING_SPLITS} == {
        "lasot": "train", "got10k": "train", "trackingnet": "TRAIN", "coco": "train2017",
        "mot17": "train"}
    assert default_data_config("tiny").allow_test_overlap is False


@pytest.fixture(scope="module")
def videos():
    return list(synthetic.iter_dataset(3, 8, 5, image_size=(64, 80), num_distractors=1))


@pytest.fixture(scope="module")
def lasot_root(tmp_path_factory, videos):
    """airplane-1 (test), airplane-2 and airplane-3 (train)."""
    root = tmp_path_factory.mktemp("lasot")
    writers.write_lasot(str(root), [dataclasses.replace(v, object_class="airplane")
                                    for v in videos])
    return root


def test_lasot_train_split_is_the_present_training_sequences(lasot_root):
    names = lambda split: [s.name for s in datasets.read_dataset(  # noqa: E731
        "lasot", lasot_root, split, with_frames=False)]
    assert names("train") == ["airplane-2", "airplane-3"]  # airplane-1 is a test sequence
    assert names("all") == ["airplane-1", "airplane-2", "airplane-3"]
    assert names(None) == names("all")
    config = default_data_config("tiny")
    config.sources.lasot.root = str(lasot_root)
    config.sources.lasot.weight = 1.0
    by_name = {s.name: s for s in loader.build_sources(config)[0]}
    assert [s.name for s in by_name["lasot"].sequences] == ["airplane-2", "airplane-3"]
    config.sources.lasot.split = "all"  # the opt-in
    by_name = {s.name: s for s in loader.build_sources(config)[0]}
    assert len(by_name["lasot"].sequences) == 3


def test_lasot_train_on_a_root_without_training_sequences_is_empty(tmp_path, videos):
    writers.write_lasot(str(tmp_path), [dataclasses.replace(videos[0], object_class="airplane")])
    with pytest.raises(ValueError, match="no lasot sequences found .*'train'"):
        datasets.read_dataset("lasot", tmp_path, "train", with_frames=False)


def test_got10k_trackingnet_coco_split_selection(tmp_path, videos):
    writers.write_got10k(str(tmp_path / "got10k"), videos[:2], split="train")
    writers.write_got10k(str(tmp_path / "got10k"), videos[2:], split="val")
    got = lambda split: [s.name for s in datasets.read_dataset(  # noqa: E731
        "got10k", tmp_path / "got10k", split, with_frames=False)]
    assert got("train") == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    assert got("all") == got(None) == got("train,val") == got("train") + ["GOT-10k_Val_000001"]
    writers.write_trackingnet(str(tmp_path / "tn"), videos[:2], chunk="TRAIN_0")
    writers.write_trackingnet(str(tmp_path / "tn"), videos[:1], chunk="TRAIN_1")
    writers.write_trackingnet(str(tmp_path / "tn"), videos[2:], chunk="TEST")
    chunks = lambda split: [str(s.frame_paths[0]).split("/")[-4] for s in  # noqa: E731
                            datasets.read_dataset("trackingnet", tmp_path / "tn", split,
                                                  with_frames=False)]
    assert chunks("TRAIN") == ["TRAIN_0", "TRAIN_0", "TRAIN_1"]
    assert chunks("all") == chunks(None) == ["TEST", "TRAIN_0", "TRAIN_0", "TRAIN_1"]
    assert chunks("TRAIN_1,TEST") == ["TRAIN_1", "TEST"]
    writers.write_coco(str(tmp_path / "coco"), videos[:1], split="train2017")
    writers.write_coco(str(tmp_path / "coco"), videos[1:2], split="val2017")
    coco = lambda split: len(datasets.read_dataset(  # noqa: E731
        "coco", tmp_path / "coco", split, with_frames=False))
    assert coco("all") == coco(None) == coco("train2017") + coco("val2017")
