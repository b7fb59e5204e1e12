"""`dmtrack convert IN.pth OUT_DIR`: the authors' DMTrack-GS weights -> an exported checkpoint.

OUT_DIR then works directly with `dmtrack track --checkpoint OUT_DIR` (it holds the config).
"""

from __future__ import annotations

import argparse
import pathlib

NAME = "convert"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        NAME,
        help="import the released PyTorch DMTrack-GS checkpoint (.pth) as a JAX checkpoint",
        description=(
            "Maps the released DMTrack-GS state dict (an mmcv .pth) onto the Flax model and "
            "writes OUT_DIR (orbax variables + config.json) for `dmtrack track --checkpoint`. "
            "Needs torch: pip install -e .[torch]. Config fields may be overridden with "
            "--config.a.b=value (e.g. --config.model.dtype=bfloat16)."
        ),
    )
    p.add_argument("checkpoint", metavar="IN.pth", help="the released .pth checkpoint")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (replaced if present)")
    p.add_argument("--config", default=None,
                   help="config file describing the released model "
                        "(default: configs/dmtrack_gs_official.py)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="load with full unpickling (only for trusted files whose metadata "
                        "holds non-tensor Python objects)")
    p.set_defaults(func=run, accepts_overrides=True)


def run(args: argparse.Namespace) -> int:
    from dmtrack_apps.errors import UserError  # noqa: PLC0415
    from dmtrack_jax.config_utils import apply_overrides, load_config_file  # noqa: PLC0415
    from configs import dmtrack_gs_official  # noqa: PLC0415
    from dmtrack_jax.convert.released import convert_checkpoint  # noqa: PLC0415

    config = (dmtrack_gs_official.get_config() if args.config is None
              else load_config_file(args.config))
    apply_overrides(config, getattr(args, "overrides", []))
    checkpoint = pathlib.Path(args.checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {checkpoint}")
    # What the weights were trained on is the authors' real-video training, not the data
    # recipe of this config: recorded so `dmtrack track` knows (checkpoint_io.training_sources).
    with config.unlocked():
        config.imported_from = f"{checkpoint.name} (released weights, trained on real videos)"
    try:
        report = convert_checkpoint(checkpoint, args.out_dir, config,
                                    allow_pickle=args.allow_pickle)
    except ImportError as err:  # torch missing: one line naming the extra
        raise UserError(str(err)) from err
    print(report.summary())
    print(f"wrote {pathlib.Path(args.out_dir).absolute()} "
          f"(use: dmtrack track VIDEO --box x,y,w,h --checkpoint {args.out_dir})")
    return 0
