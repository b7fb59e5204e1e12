"""Lay out a LaSOT annotations-only root from the LaSOT evaluation toolkit's files.

    git --git-dir=DIR archive HEAD annos sequence_evaluation_config | tar -x -C /tmp/toolkit
    python benchmarks/lasot_annotations_root.py /tmp/toolkit /tmp/lasot_annos [--all]

The toolkit (github.com/HengLan/LaSOT_Evaluation_Toolkit) ships `annos/<seq>.txt` (the boxes),
`annos/absent/<seq>.txt` (one absence flag per frame) and
`sequence_evaluation_config/testing_set.txt`. This writes `<root>/<class>/<seq>/groundtruth.txt`
(copied), `full_occlusion.txt` (the absence flags, one comma-separated line) and
`out_of_view.txt` (zeros: the toolkit publishes only the one absence flag) for the 280 test
sequences (every annotated one with --all). No images. Point DMTRACK_LASOT_ANNOTATIONS_ROOT at
the result for tests/data_pipelines/test_lasot_real_annotations.py.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil


def build(toolkit: pathlib.Path, root: pathlib.Path, every: bool = False) -> int:
    annos = toolkit / "annos"
    if every:
        names = sorted(p.stem for p in annos.glob("*.txt"))
    else:
        listing = toolkit / "sequence_evaluation_config" / "testing_set.txt"
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    for name in names:
        folder = root / name.rsplit("-", 1)[0] / name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(annos / f"{name}.txt", folder / "groundtruth.txt")
        flags = (annos / "absent" / f"{name}.txt").read_text().split()
        (folder / "full_occlusion.txt").write_text(",".join(flags) + "\n")
        (folder / "out_of_view.txt").write_text(",".join("0" for _ in flags) + "\n")
    return len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("toolkit", type=pathlib.Path, help="folder holding annos/")
    parser.add_argument("root", type=pathlib.Path, help="the LaSOT-layout root to write")
    parser.add_argument("--all", action="store_true", help="all 1,400 sequences, not the 280")
    args = parser.parse_args()
    print(f"{build(args.toolkit, args.root, args.all)} sequences under {args.root}")


if __name__ == "__main__":
    main()
