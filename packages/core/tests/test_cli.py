import json

import attrs
from cosmos_core.cli import main
from cosmos_core.config import option
from cosmos_core.hookspecs import hookimpl
from cosmos_core.registry import ModelFamily

CALLS = []


@attrs.frozen
class ToyConfig:
    results_dir: str = option("/results", help="where outputs go")
    steps: int = option(3, help="how many steps")


def toy_train(config, ctx):
    CALLS.append((config, ctx.action))
    return 0


class ToyFamilyPlugin:
    @hookimpl
    def cosmos_register_tasks(self, registry):
        registry.add(
            "toy-model",
            ModelFamily(
                name="toy-model",
                config_class=ToyConfig,
                actions={"train": f"{__name__}:toy_train"},
                specs_package="cosmos_core",
            ),
            help="a toy family",
        )


PLUGINS = [ToyFamilyPlugin()]


def test_plugins_json_lists_distributions_and_provided_names(capsys):
    assert main(["plugins", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert plugins["embed"]["distribution"] == "cosmos-embed"
    assert "cosmos-embed1" in plugins["embed"]["provides"]["tasks"]
    assert "iter_speed" in plugins["core"]["provides"]["callbacks"]


def test_list_kind_shows_name_and_distribution(capsys):
    assert main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert "mock" in out and "cosmos-datasets 0.1.0" in out


def test_list_unknown_kind_suggests(capsys):
    assert main(["list", "dataset"]) == 0  # singular accepted
    assert main(["list", "exportrs"]) == 2
    assert "did you mean 'exporters'" in capsys.readouterr().err


def test_family_action_runs_with_overrides(tmp_path):
    spec = tmp_path / "toy.yaml"
    spec.write_text("steps: 5\n")
    CALLS.clear()
    assert main(["toy-model", "train", "-e", str(spec), "results_dir=/tmp/x"], extra_plugins=PLUGINS) == 0
    config, action = CALLS[-1]
    assert (config.steps, config.results_dir, action) == (5, "/tmp/x", "train")


def test_show_prints_resolved_config(capsys, tmp_path):
    spec = tmp_path / "toy.yaml"
    spec.write_text("steps: 5\n")
    assert main(["show", "toy-model", "train", "-e", str(spec), "steps=8"], extra_plugins=PLUGINS) == 0
    assert "steps: 8" in capsys.readouterr().out


def test_config_errors_exit_2_before_any_work(capsys):
    CALLS.clear()
    code = main(["toy-model", "train", "stepz=1", "steps=abc"], extra_plugins=PLUGINS)
    err = capsys.readouterr().err
    assert code == 2 and not CALLS
    assert "stepz: unknown config key; did you mean 'steps'?" in err
    assert "steps: expected int" in err


def test_unknown_family_and_action_suggest(capsys):
    assert main(["toy-modle", "train"], extra_plugins=PLUGINS) == 2
    assert "Did you mean 'toy-model'" in capsys.readouterr().err
    assert main(["toy-model", "trian"], extra_plugins=PLUGINS) == 2
    assert "did you mean 'train'" in capsys.readouterr().err


def test_missing_spec_lists_bundled_ones(capsys):
    assert main(["toy-model", "train", "-e", "nope.yaml"], extra_plugins=PLUGINS) == 2
    assert "no such file" in capsys.readouterr().err
