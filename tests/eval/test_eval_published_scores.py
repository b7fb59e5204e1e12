"""Published LaSOT test-set scores reproduced from the trackers' released raw results.

Opt-in (the data are large and not redistributable): set DMTRACK_LASOT_ROOT to the LaSOT
folder and DMTRACK_LASOT_RESULTS_<TRACKER> to a folder of that tracker's `<seq>.txt` files.
The published numbers are rounded to three decimals.
"""

import os

import pytest

from eval import scoring

PUBLISHED = {  # tracker: {metric: published value}
    "ATOM": {"success": 0.514, "precision": 0.505},
    "SIAMRPNPP": {"success": 0.496, "norm_precision": 0.569},
    "OCEAN": {"success": 0.560},
}


@pytest.mark.parametrize("tracker", sorted(PUBLISHED))
def test_published_lasot_scores(tracker):
    root = os.environ.get("DMTRACK_LASOT_ROOT")
    results = os.environ.get(f"DMTRACK_LASOT_RESULTS_{tracker}")
    if not root or not results:
        pytest.skip(f"set DMTRACK_LASOT_ROOT and DMTRACK_LASOT_RESULTS_{tracker} to check the "
                    f"published LaSOT numbers of {tracker}")
    scores = scoring.score_results("lasot", root, results)["scores"]
    for metric, value in PUBLISHED[tracker].items():
        assert scores[metric] == pytest.approx(value, abs=0.0005 + 1e-9), metric
