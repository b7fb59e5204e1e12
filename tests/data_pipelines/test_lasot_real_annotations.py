"""The real annotations of the 280 LaSOT test sequences, read by the training reader.

Opt-in: set DMTRACK_LASOT_ANNOTATIONS_ROOT to a LaSOT-layout root holding (at least) the 280
test sequences' annotation files, no images needed -- benchmarks/lasot_annotations_root.py lays
one out from the public LaSOT evaluation toolkit. Real files hold rows such as `1,1,-1,-1`: the
training view reads them as unusable frames rather than failing.
"""

import os

import pytest

from data_pipelines import datasets, loader
from data_pipelines.config import default_data_config
from data_pipelines.datasets.lasot_test_split import LASOT_TEST_SEQUENCES

ROOT = os.environ.get("DMTRACK_LASOT_ANNOTATIONS_ROOT")
pytestmark = pytest.mark.skipif(
    not ROOT, reason="set DMTRACK_LASOT_ANNOTATIONS_ROOT to a LaSOT annotations root (see "
                     "benchmarks/lasot_annotations_root.py) to read the real 280 test sequences")


def test_training_reader_reads_the_280_real_test_sequences():
    sequences = datasets.read_dataset("lasot", ROOT, "test", with_frames=False)
    assert sorted(s.name for s in sequences) == sorted(LASOT_TEST_SEQUENCES)


def test_default_training_config_yields_none_of_them():
    config = default_data_config("paper")
    config.sources.synthetic.weight = 0.0
    config.sources.synthetic.reid_weight = 0.0
    config.sources.lasot.root = ROOT
    config.sources.lasot.weight = 1.0
    test = set(LASOT_TEST_SEQUENCES)
    try:
        sources = loader.build_sources(config)[0]
    except ValueError as err:  # a root with only test sequences has no training sequence
        assert "no lasot sequences found" in str(err) and "'train'" in str(err)
        return
    assert not test & {s.name for s in sources[0].sequences}
