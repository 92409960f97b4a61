"""The launcher: built-in commands, family/action help, config and command actions, dry runs,
experiment names, and the one-line errors of bad input, interrupts and refusing machines."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path

import attrs
import pytest
from cosmos_core.cli import main
from cosmos_core.config import option
from cosmos_core.family import Action, DeviceRequest, ModelFamily, ParallelDims
from cosmos_core.hookspecs import hookimpl
from cosmos_core.signals import Interrupted

CALLS: list = []


@attrs.frozen
class Optim:
    lr: float = option(0.1, help="learning rate")


@attrs.frozen
class ToyConfig:
    results_dir: str = option("/results", help="where outputs go")
    steps: int = option(3, help="how many steps")
    name: str = option("", help="experiment name")
    optim: Optim = option(help="optimizer", factory=Optim)


class ToyRuntime:
    config_file = "toy.yaml"

    def run_dir(self, config, action):
        return Path(config.results_dir) / action

    def devices(self, config, action):
        return DeviceRequest(0)

    def parallel(self, config, action):
        return ParallelDims()


RUNTIME = ToyRuntime()


class Experiments:
    def names(self):
        return ["tiny_pretrain", "tiny_posttrain"]

    def get(self, name):
        return {"name": name, "steps": 7 if name == "tiny_posttrain" else 5}


EXPERIMENTS = Experiments()


def toy_train(config, ctx):
    CALLS.append((config, ctx.action))
    return 0


def toy_fails(config, ctx):
    with ctx.open_run(config):
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(config.results_dir) / "big.bin"))


def toy_stopped(config, ctx):
    raise Interrupted(15, "saved iteration 3 to /x/iter_3.pt")


def add_convert_arguments(parser):
    parser.add_argument("checkpoint", help="checkpoint to convert")
    parser.add_argument("--tp", type=int, default=8, help="tensor-parallel size")


def toy_convert(args, ctx):
    CALLS.append((vars(args), ctx.action))
    return 3


class ToyFamilyPlugin:
    @hookimpl
    def cosmos_register_tasks(self, registry):
        registry.add(
            "toy-model",
            ModelFamily(
                name="toy-model",
                config_class=ToyConfig,
                actions={
                    "train": Action(f"{__name__}:toy_train", "train the toy"),
                    "fill_disk": Action(f"{__name__}:toy_fails", "write until the disk is full"),
                    "stopped": Action(f"{__name__}:toy_stopped", "be stopped by SIGTERM"),
                    "convert": Action(
                        f"{__name__}:toy_convert", "convert a checkpoint", arguments=f"{__name__}:add_convert_arguments"
                    ),
                },
                specs_package="cosmos_core",
                description="A toy family for the launcher's tests.",
                runtime=f"{__name__}:RUNTIME",
                experiments=f"{__name__}:EXPERIMENTS",
            ),
            help="a toy family",
        )


PLUGINS = [ToyFamilyPlugin()]


def run(*argv):
    return main(list(argv), extra_plugins=PLUGINS)


def test_plugins_json_lists_distributions_and_provided_names(capsys):
    assert run("plugins", "--json") == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert plugins["core"]["distribution"] == "cosmos-core"
    assert "iter_speed" in plugins["core"]["provides"]["callbacks"]
    assert any("toy-model" in p["provides"].get("tasks", []) for p in plugins.values())


def test_list_kind_shows_name_and_distribution(capsys):
    assert run("list", "callbacks") == 0
    out = capsys.readouterr().out
    assert "log_losses" in out and "cosmos-core 0.1.0" in out


def test_list_unknown_kind_suggests(capsys):
    assert run("list", "callback") == 0  # singular accepted
    assert run("list", "exportrs") == 2
    assert "did you mean 'exporters'" in capsys.readouterr().err


def test_family_help_lists_actions_and_experiments(capsys):
    assert run("toy-model", "--help") == 0
    out = capsys.readouterr().out
    assert "A toy family for the launcher's tests." in out
    assert "train            train the toy" in out and "convert          convert a checkpoint" in out
    assert "experiments (experiment=NAME):" in out and "tiny_posttrain" in out
    assert run("toy-model") == 2  # no action: the same help, as a usage error


def test_action_help_lists_every_option_with_type_default_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        run("toy-model", "train", "--help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--dryrun" in out and "train the toy" in out
    assert "  steps  (int) = 3" in out and "how many steps" in out
    assert "  optim.lr  (float) = 0.1" in out and "learning rate" in out


def test_command_action_help_shows_its_own_arguments(capsys):
    with pytest.raises(SystemExit):
        run("toy-model", "convert", "--help")
    out = capsys.readouterr().out
    assert "checkpoint to convert" in out and "--tp TP" in out and "--dryrun" in out


def test_family_action_runs_with_overrides(tmp_path):
    spec = tmp_path / "toy.yaml"
    spec.write_text("steps: 5\noptim: {lr: 2e-3}\n")
    CALLS.clear()
    assert run("toy-model", "train", "-e", str(spec), "results_dir=/tmp/x") == 0
    config, action = CALLS[-1]
    assert (config.steps, config.results_dir, config.optim.lr, action) == (5, "/tmp/x", 0.002, "train")


def test_overrides_may_follow_a_double_dash_and_start_from_an_experiment(tmp_path):
    CALLS.clear()
    assert run("toy-model", "train", "--", "experiment=tiny_posttrain", "optim.lr=0.5") == 0
    config, _ = CALLS[-1]
    assert (config.name, config.steps, config.optim.lr) == ("tiny_posttrain", 7, 0.5)
    spec = tmp_path / "toy.yaml"
    spec.write_text("steps: 9\n")
    assert run("toy-model", "train", "-e", str(spec), "--", "experiment=tiny_pretrain") == 0
    assert (CALLS[-1][0].name, CALLS[-1][0].steps) == ("tiny_pretrain", 9)  # the spec applies over the experiment


def test_an_unknown_experiment_suggests_the_closest(capsys):
    assert run("toy-model", "train", "--", "experiment=tiny_postrain") == 2
    err = capsys.readouterr().err
    assert "unknown toy-model experiment; did you mean 'tiny_posttrain'?" in err


def test_dryrun_writes_and_prints_the_config_and_runs_nothing(tmp_path, capsys):
    CALLS.clear()
    assert run("toy-model", "train", "--dryrun", "--", "experiment=tiny_pretrain", f"results_dir={tmp_path}") == 0
    out = capsys.readouterr().out
    written = tmp_path / "train" / "toy.yaml"
    assert "steps: 5" in out and f"dry run: config written to {written}" in out
    assert "steps: 5" in written.read_text()
    assert not CALLS
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["toy.yaml"]  # no logs, no lock left


def test_command_action_parses_its_arguments_and_dryruns(capsys):
    CALLS.clear()
    assert run("toy-model", "convert", "ckpt.pt", "--tp", "2") == 3
    assert CALLS[-1] == ({"checkpoint": "ckpt.pt", "tp": 2, "dryrun": False}, "convert")
    assert run("toy-model", "convert", "ckpt.pt", "--dryrun") == 0
    out = capsys.readouterr().out
    assert "checkpoint: ckpt.pt" in out and "tp: 8" in out and "was not run" in out
    assert len(CALLS) == 1


def test_show_prints_resolved_config(capsys, tmp_path):
    spec = tmp_path / "toy.yaml"
    spec.write_text("steps: 5\n")
    assert run("show", "toy-model", "train", "-e", str(spec), "steps=8") == 0
    assert "steps: 8" in capsys.readouterr().out


def test_config_errors_exit_2_before_any_work(capsys):
    CALLS.clear()
    code = run("toy-model", "train", "stepz=1", "steps=abc")
    err = capsys.readouterr().err
    assert code == 2 and not CALLS
    assert "stepz: unknown config key; did you mean 'steps'?" in err
    assert "steps: expected int" in err


def test_unknown_family_and_action_suggest(capsys):
    assert run("toy-modle", "train") == 2
    assert "Did you mean 'toy-model'" in capsys.readouterr().err
    assert run("toy-model", "trian") == 2
    assert "did you mean 'train'" in capsys.readouterr().err


def test_missing_spec_is_named(capsys):
    assert run("toy-model", "train", "-e", "nope.yaml") == 2
    assert "no such file" in capsys.readouterr().err


def test_a_refusing_machine_is_one_line_naming_the_path_and_cause(tmp_path, capsys):
    assert run("toy-model", "fill_disk", f"results_dir={tmp_path}") == 2
    err = capsys.readouterr().err
    assert err.strip() == f"cosmos-run: error: {tmp_path / 'big.bin'}: ENOSPC (No space left on device)"


@pytest.mark.parametrize("setup", ["file", "loop"])
def test_an_unusable_results_dir_is_one_line(tmp_path, capsys, setup):
    if setup == "file":
        (tmp_path / "plain").write_text("not a folder")
        results, cause = tmp_path / "plain" / "sub", "ENOTDIR"
    else:
        (tmp_path / "a").symlink_to(tmp_path / "b")
        (tmp_path / "b").symlink_to(tmp_path / "a")
        results, cause = tmp_path / "a" / "sub", "ELOOP"
    assert run("toy-model", "fill_disk", f"results_dir={results}") == 2
    err = capsys.readouterr().err
    assert err.startswith("cosmos-run: error: cannot create the folder") and cause in err
    assert err.count("\n") == 1


def test_a_stop_signal_is_one_line_with_the_shell_exit_code(capsys):
    assert run("toy-model", "stopped") == 128 + 15
    assert capsys.readouterr().err.strip() == "cosmos-run: stopped by SIGTERM: saved iteration 3 to /x/iter_3.pt"


def test_p_loads_a_plugin_module_by_name(tmp_path, capsys, monkeypatch):
    (tmp_path / "my_toy_plugin.py").write_text(
        "from cosmos_core.hookspecs import hookimpl\n"
        "@hookimpl\n"
        "def cosmos_register_callbacks(registry):\n"
        "    registry.add('from_a_module', lambda **kw: None, help='loaded with -p')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["-p", "my_toy_plugin", "list", "callbacks"]) == 0
    assert "from_a_module" in capsys.readouterr().out
    monkeypatch.setenv("COSMOS_PLUGINS", "no_such_plugin_module")
    assert main(["list"]) == 2
    assert "plugin module 'no_such_plugin_module'" in capsys.readouterr().err
    sys.modules.pop("my_toy_plugin", None)
