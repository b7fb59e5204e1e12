"""The `dmtrack` entry point and config overrides."""

import pathlib

import pytest

from configs import tiny
from dmtrack_apps import cli
from dmtrack_jax.config_utils import apply_overrides, load_config_file


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: dmtrack" in capsys.readouterr().out


def test_overrides_are_type_checked(tmp_path):
    config = tiny.get_config()
    apply_overrides(config, ["--config.model.correlation=dw", "--config.model.integration_layers=6",
                             "--config.model.finest_scale=40"])
    assert config.model.correlation == "dw"
    assert config.model.integration_layers == (6,)
    assert config.model.finest_scale == 40.0
    with pytest.raises(ValueError, match="unknown config field 'model.nope'"):
        apply_overrides(config, ["--config.model.nope=1"])
    with pytest.raises(ValueError, match="reid_dim expects int"):
        apply_overrides(config, ["--config.model.reid_dim=abc"])


def test_config_files_load_by_path():
    configs_dir = pathlib.Path(__file__).resolve().parents[1] / "configs"
    config = load_config_file(str(configs_dir / "dmtrack_gs_official.py"))
    assert config.model.reid_dim == 0 and config.model.controller_padding_quirk
    with pytest.raises(FileNotFoundError, match="nowhere.py"):
        load_config_file(str(configs_dir / "nowhere.py"))


def test_a_box_starting_left_of_the_frame_parses_as_the_value_of_box():
    assert cli._glue_negative_values(["track", "v.mp4", "--box", "-20,10,100,100", "--out", "r"]) \
        == ["track", "v.mp4", "--box=-20,10,100,100", "--out", "r"]
    assert cli._glue_negative_values(["track", "--box", "-.5, -3,4,5"]) == \
        ["track", "--box=-.5, -3,4,5"]
    args, _ = cli.build_parser().parse_known_args(
        cli._glue_negative_values(["track", "v.mp4", "--box", "-20,10,100,100",
                                   "--checkpoint", "c", "--out", "r"]))
    assert args.box == ["-20,10,100,100"]  # --box repeats (one per target)
    # Another option after --box is not swallowed.
    assert cli._glue_negative_values(["--box", "--out", "r"]) == ["--box", "--out", "r"]


@pytest.mark.parametrize("raised, code, message", [
    (KeyboardInterrupt(), 130, "dmtrack demo: interrupted"),
    (RuntimeError("boom"), 1, "dmtrack demo: unexpected error: RuntimeError: boom (run with "
                              "DMTRACK_DEBUG=1 for the traceback)"),
    (PermissionError(13, "Permission denied"), 2, "dmtrack demo: error: [Errno 13]"),
])
def test_errors_are_one_line_without_traceback_unless_debugging(monkeypatch, capsys, raised,
                                                                code, message):
    from dmtrack_apps import demo

    def fail(args):
        raise raised

    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    monkeypatch.setattr(demo, "run", fail)
    assert cli.main(["demo"]) == code
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("DMTRACK_DEBUG", "1")
    with pytest.raises(type(raised)):
        cli.main(["demo"])
