"""Configuration: validation with one-line errors, presets, TOML round trips, overrides."""

from pathlib import Path

import pytest

from segdend.config import PRESETS, Config, build_config, dump_toml, load_config, parse_value
from segdend.errors import ConfigError


def test_defaults_are_the_papers_standard_network():
    config = build_config("code")
    assert config.model.hidden == [500]
    assert config.model.mode == "spiking"
    assert config.train.examples == 60000 and config.test.examples == 10000
    assert config.learning_rates() == [0.21, 0.21]
    assert build_config("code", overrides=["model.hidden=[]"]).learning_rates() == [0.19]
    two = build_config("code", overrides=["model.hidden=[500, 100]"])
    assert two.learning_rates() == [0.23, 0.23, 0.12]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("model.colour=3", "unknown config key 'model.colour'"),
        ("bogus=1", "unknown config key 'bogus'"),
        ("train.epochs=many", "config key 'train.epochs' = 'many'"),
        ("model.hidden=5", "config key 'model.hidden' = 5"),
        ("model.apical_conductance=-0.1", "greater than or equal to 0"),
        ("model.feedback=mirror", "'random', 'sparse'"),
        ("train.learning_rates=[0.1]", "needs 2 values"),
        ("model.hidden=[0]", "between 1 and 100000"),
        ("phases.window=90", "window (90) exceeds min_length (50)"),
        ("model.tau_short=20", "tau_short must be smaller"),
    ],
)
def test_bad_values_give_one_line_errors_naming_the_key(override, fragment):
    with pytest.raises(ConfigError) as info:
        build_config("code", overrides=[override])
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_unknown_preset_and_malformed_override():
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        build_config("fast")
    with pytest.raises(ConfigError, match="expected key=value"):
        build_config("code", overrides=["model.hidden"])


def test_set_values_parse_as_toml():
    assert parse_value("[500, 100]") == [500, 100]
    assert parse_value("0.05") == 0.05
    assert parse_value("true") is True
    assert parse_value("rate") == "rate"
    config = build_config("code", overrides=["model.kernel_steps=none"])
    assert config.model.kernel_steps is None


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_round_trip_through_toml(preset, tmp_path: Path):
    config = build_config(preset, overrides=["model.hidden=[500, 100]", "seed=7"])
    path = tmp_path / "config.toml"
    path.write_text(dump_toml(config))
    assert load_config(path) == config


def test_every_preset_difference_is_a_named_field():
    code, paper = build_config("code"), build_config("paper")
    assert code.model.kernel_steps == 10 and paper.model.kernel_steps is None
    assert code.phases.test_length == 250 and paper.phases.test_length == 500
    assert code.phases.averaging == "last-steps" and paper.phases.averaging == "after-settling"
    assert code.model.plateau_window == 20 and paper.model.plateau_window == 30
    assert code.model.init.spread == "head" and paper.model.init.spread == "intended"
    assert code.model.symmetric_noise_sd == 0.05
    assert paper.model.symmetric_noise_sd == pytest.approx(0.05**0.5)
    differing = {
        key for key in PRESETS["code"] if PRESETS["code"][key] != PRESETS["paper"][key]
    }
    assert len(differing) >= 7
    # Everything that differs is reachable as a dotted field name.
    for key in differing:
        node = code
        for part in key.split("."):
            node = getattr(node, part)


def test_config_files_and_overrides_compose(tmp_path: Path):
    path = tmp_path / "run.toml"
    path.write_text('seed = 3\n[model]\nhidden = [30]\nmode = "rate"\n')
    config = build_config("paper", [path], ["model.hidden=[40]"])
    assert config.seed == 3 and config.model.mode == "rate" and config.model.hidden == [40]
    assert config.preset == "paper"


def test_broken_config_files_are_clear_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        build_config("code", [tmp_path / "missing.toml"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nhidden = ")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        build_config("code", [bad])


def test_config_object_rejects_assignment_of_bad_values():
    config = Config()
    with pytest.raises(ValueError):
        config.model.units_per_class = 0
