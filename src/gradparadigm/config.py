"""Validation of a study's configuration against ``workflow/schemas/config.schema.yaml``.

Used by the workflow before any job runs, and importable for tests and notebooks. Defaults from
the schema are filled in; every problem is reported as ``config key 'a.b.c': what is wrong``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

from gradparadigm.errors import ConfigError

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    default = subschema["default"]
                    instance[name] = dict(default) if isinstance(default, dict) else (
                        list(default) if isinstance(default, list) else default)
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(Draft202012Validator)


def key_path(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_config(config: dict[str, Any], schema_path: str | Path = SCHEMA) -> dict[str, Any]:
    """Fill in the schema's defaults in place and raise :class:`ConfigError` on the first problems.

    All schema errors are collected; the message lists each as ``config key '<path>': <message>``.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return config
    problems = [_describe(error) for error in errors]
    key, message = problems[0]
    more = "".join(f"\nconfig key '{k}': {m}" for k, m in problems[1:])
    raise ConfigError(key, message + more)


def _describe(error) -> tuple[str, str]:
    path = list(error.absolute_path)
    if "propertyNames" in error.schema_path:  # a model/variant name: the instance is the name
        return key_path([*path, error.instance]), (
            f"{error.instance!r} is not a valid name: use letters, digits, '_', '.' and '-' (starting "
            "with a letter or digit), and none of the reserved names data, tables, logs, benchmarks, "
            "checkpoints, views")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known]
        return key_path([*path, unknown[0]]), f"unknown key; valid keys here: {', '.join(known)}"
    return key_path(path), error.message
