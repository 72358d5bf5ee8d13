"""Every training option, once: kohya sd-scripts key names, bounds, defaults and help (zh/en).

The web UI, the TOML files, presets and validation are all derived from `TrainConfig`.
This package must stay importable without torch (the UI process imports it): stdlib and
pydantic only. One job per module:

- schema.py: TrainConfig (every option, its bounds, default, help and section) and the checks
  of single values;
- compat.py: the tables of what sd-scripts, lora-scripts and kohya_ss write and how it is read
  with sd-scripts' meaning (options not implemented yet, no-effect options, GUI-only keys, old
  names, sd-scripts' defaults for left-out keys);
- checks.py: the checks across fields and of paths;
- network_args.py: network_module and network_args read as sd-scripts hands them to kohya's
  networks.lora and LyCORIS' lycoris.kohya, and the entries the form shows as fields
  (COMMON_NETWORK_ARGS, network_arg_field, network_arg_value, with_network_arg);
- problems.py: the wording of problems (one ConfigError listing them all, each with its fix);
- toml_io.py (+ toml_values.py): reading TOML files and dicts, writing Danlu's TOML.

Reading a config (`load_config`, `config_from_dict`) is strict, like nanoGPT's configurator
and diffusers' argument checks: an unknown key is an error that names the nearest known key,
because a silently ignored typo trains the wrong thing for months. A config that sd-scripts
runs trains here with the same meaning, and what was read differently from its words is noted.
All problems found are reported together, one line each, in one ConfigError.
"""
from __future__ import annotations

from .compat import (
    ADAPTIVE_OPTIMIZERS,
    GUI_ONLY_KEYS,
    NO_EFFECT_ON_TRAINING,
    NOT_SUPPORTED_YET,
    NOTES_SHOWN_AS_WARNINGS,
    SD_SCRIPTS_DEFAULT_STEPS,
    SD_SCRIPTS_DEFAULTS,
    SUPPORTED_OPTIMIZERS,
)
from .network_args import (COMMON_NETWORK_ARGS, NETWORK_MODULES, NetworkArgField, network_arg_field, network_arg_value,
                           with_network_arg)
from .problems import ConfigProblem
from .schema import (
    PATH_FIELDS,
    SECTION_TITLES,
    SECTIONS,
    TrainConfig,
    field_choices,
    field_help,
    field_section,
    fields_in_section,
    parse_resolution,
)
from .toml_io import config_from_dict, dump_toml, flatten_toml, load_config, save_toml

__all__ = [
    "TrainConfig",
    "ConfigProblem",
    "ADAPTIVE_OPTIMIZERS",
    "PATH_FIELDS",
    "field_choices",
    "SECTIONS",
    "SECTION_TITLES",
    "SUPPORTED_OPTIMIZERS",
    "NETWORK_MODULES",
    "COMMON_NETWORK_ARGS",
    "NetworkArgField",
    "network_arg_field",
    "network_arg_value",
    "with_network_arg",
    "NOT_SUPPORTED_YET",
    "NO_EFFECT_ON_TRAINING",
    "GUI_ONLY_KEYS",
    "NOTES_SHOWN_AS_WARNINGS",
    "SD_SCRIPTS_DEFAULTS",
    "SD_SCRIPTS_DEFAULT_STEPS",
    "field_help",
    "field_section",
    "fields_in_section",
    "parse_resolution",
    "load_config",
    "config_from_dict",
    "flatten_toml",
    "dump_toml",
    "save_toml",
]
