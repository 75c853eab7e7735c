"""Validation of a study's configuration against the schema ``gradparadigm/schemas/config.schema.yaml``.

The schema is package data: the workflow validates the config with it, and the library validates
the same sections with it (:func:`validate_section`: the training settings of ``gradparadigm
train``), so each setting's type, range and default is written down once.

Used by the workflow before any job runs, and importable for tests and notebooks. Defaults from
the schema are filled in; every problem is reported as ``config key 'a.b.c': what is wrong``.

Two forms are expanded here, before the schema sees the config:

* a variant may name a ``base`` variant: it starts from the base's settings (recursively, nested
  mappings merged key by key) and overrides only what it states. An ablation is three lines::

      vicreg-mod-no-gd: {base: vicreg-mod, loss_args: {gd: false}}

* ``sweeps`` train one variant over the values of one of its settings: each value becomes a variant
  ``<variant>-<key>~<value>`` (:mod:`gradparadigm.sweeps`); a variant marked ``template: true`` is
  a base only, checked and then dropped.

* ``parts`` name subsets of the study's runs (variant names or shell-style patterns, and seeds),
  each a target that can be built on its own; they are checked against the variants and seeds.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import math
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

from gradparadigm.errors import ConfigError, DataFormatError
from gradparadigm.sweeps import check_points, drop_templates, expand_sweeps, rekey

SCHEMA = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


@functools.cache
def load_schema(path: str | Path = SCHEMA) -> dict[str, Any]:
    """The parsed schema (cached; do not modify it)."""
    return yaml.safe_load(Path(path).read_text())


def schema_defaults(section: str) -> dict[str, Any]:
    """The defaults the schema gives the keys of a top-level section (``train``: every training
    setting's default) or of a definition (``$defs/augment_settings``)."""
    schema = load_schema()
    node = (
        schema["$defs"][section.removeprefix("$defs/")]
        if section.startswith("$defs/")
        else schema["properties"][section]
    )
    properties = node.get("properties", {})
    return {key: copy.deepcopy(spec["default"]) for key, spec in properties.items() if "default" in spec}


def _with_defaults(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])  # the schema is cached
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def _finite_number(checker, instance) -> bool:
    """JSON Schema's ``number``, less inf and NaN (YAML reads ``.inf`` and ``.nan`` as floats)."""
    return Draft202012Validator.TYPE_CHECKER.is_type(instance, "number") and math.isfinite(instance)


_FiniteValidator = validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number)
)
_Validator = _with_defaults(_FiniteValidator)


def validate_section(values: Any, definition: str, where: str) -> None:
    """Check ``values`` against the schema's ``$defs/<definition>``; raise :class:`ConfigError`
    naming ``<where>.<key>`` (every problem, the first as the key)."""
    schema = load_schema()
    validator = _FiniteValidator({"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]})
    errors = sorted(validator.iter_errors(values), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        problems = [_describe(error) for error in errors]
        problems = [(where if key == "<top level>" else f"{where}.{key}", message) for key, message in problems]
        key, message = problems[0]
        raise ConfigError(key, message + "".join(f"\nconfig key '{k}': {m}" for k, m in problems[1:]))


def key_path(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_config(config: dict[str, Any], schema_path: str | Path = SCHEMA) -> dict[str, Any]:
    """Fill in the schema's defaults in place and raise :class:`ConfigError` on the first problems.

    All schema errors are collected; the message lists each as ``config key '<path>': <message>``
    (an error in a sweep's point names the sweep's value: ``sweeps.<s>.values.<i>``).
    """
    _expand_bases(config)
    expand_sweeps(config)
    validator = _Validator(load_schema(schema_path))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        check_points(config)
        _check_scopes(config)
        drop_templates(config)
        _check_parts(config)
        _check_simulations(config)
        return config
    problems = [rekey(config, *_describe(error)) for error in errors]
    key, message = problems[0]
    more = "".join(f"\nconfig key '{k}': {m}" for k, m in problems[1:])
    raise ConfigError(key, message + more)


def _describe(error) -> tuple[str, str]:
    path = list(error.absolute_path)
    if "propertyNames" in error.schema_path and "enum" in error.schema_path:  # a closed set of keys
        return key_path([*path, error.instance]), f"unknown key; valid keys here: {', '.join(error.validator_value)}"
    if "propertyNames" in error.schema_path:  # a model/variant name: the instance is the name
        return key_path([*path, error.instance]), (
            f"{error.instance!r} is not a valid name: use letters, digits, '_', '.', '-' and '~' (starting "
            "with a letter or digit), and none of the names of results/'s own entries: "
            "data, tables, figures, parts, sweeps, logs, benchmarks, checkpoints, views, cache, README.md"
        )
    if "x-message" in error.schema:  # the schema's own words for a rule across keys
        return key_path(path), f"{error.schema['x-message']}, got {error.instance!r}"
    if error.validator == "type" and isinstance(error.instance, float) and not math.isfinite(error.instance):
        return key_path(path), f"must be a finite number, got {error.instance!r}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known]
        return key_path([*path, unknown[0]]), f"unknown key; valid keys here: {', '.join(known)}"
    return key_path(path), error.message


def deep_merge(base: dict, override: dict) -> dict:
    """``base`` updated by ``override``; nested mappings are merged key by key (copies, not views).

    Except a mapping whose ``kind`` the override changes (a paradigm loss part, ``gd: {kind: soft}``
    over ``gd: {kind: margin, m: 0.3}``): it is replaced, since the old kind's parameters do not
    belong to the new one."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if (
            isinstance(value, dict)
            and isinstance(merged.get(key), dict)
            and value.get("kind", merged[key].get("kind")) == merged[key].get("kind")
        ):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _expand_bases(config: dict[str, Any]) -> None:
    """Replace each variant that names a ``base`` by its base's settings updated with its own.

    The name of the base is kept (``base``); its ``description`` and ``template`` are not
    inherited. Unknown bases, cycles and a base that is not a name raise :class:`ConfigError`
    naming ``variants.<v>.base``.
    """
    variants = config.get("variants")
    if not isinstance(variants, dict):
        return  # the schema reports it
    resolved: dict[str, dict] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> dict:
        if name in resolved:
            return resolved[name]
        spec = variants[name]
        if not isinstance(spec, dict) or "base" not in spec:
            resolved[name] = spec
            return spec
        base = spec["base"]
        key = f"variants.{name}.base"
        if not isinstance(base, str):
            raise ConfigError(key, f"{base!r} is not a variant name")
        if base not in variants:
            raise ConfigError(key, f"no variant {base!r}; variants: {', '.join(variants)}")
        if base in chain or base == name:
            raise ConfigError(key, "circular: " + " -> ".join([*chain, name, base]))
        parent = {
            k: v for k, v in resolve(base, (*chain, name)).items() if k not in ("description", "base", "template")
        }
        own = {k: v for k, v in spec.items() if k != "base"}
        resolved[name] = {**deep_merge(parent, own), "base": base}
        return resolved[name]

    for name in list(variants):
        variants[name] = resolve(name, ())


def _check_scopes(config: dict[str, Any]) -> None:
    """A variant's own ``models`` and ``seeds`` are the study's."""
    for name, spec in config["variants"].items():
        for key, known in (("models", list(config["models"])), ("seeds", config["seeds"])):
            unknown = [x for x in spec.get(key) or [] if x not in known]
            if unknown:
                raise ConfigError(f"variants.{name}.{key}", f"{unknown} not in the study's {key} {known}")


def _check_parts(config: dict[str, Any]) -> None:
    """Every pattern of a part matches a variant, and its seeds are the study's."""
    for part, spec in (config.get("parts") or {}).items():
        for i, pattern in enumerate(spec["variants"]):
            if not fnmatch.filter(config["variants"], pattern):
                raise ConfigError(
                    f"parts.{part}.variants.{i}",
                    f"{pattern!r} matches no variant; variants: {', '.join(config['variants'])}",
                )
        unknown = [s for s in spec.get("seeds") or [] if s not in config["seeds"]]
        if unknown:
            raise ConfigError(f"parts.{part}.seeds", f"{unknown} not in the study's seeds {config['seeds']}")


def _check_simulations(config: dict[str, Any]) -> None:
    """Each angle range is increasing; each simulated loss's hyperparameters are its own and valid."""
    from gradparadigm.losses import resolve_hparams

    section = config.get("simulations") or {}
    for name in ("gd", "weight", "ratio"):
        part = section.get(name) or {}
        for key in ("pos_range", "neg_range"):
            if key in part and not part[key][0] < part[key][1]:
                raise ConfigError(f"simulations.{name}.{key}", f"{part[key]}: the low end must be below the high end")
        for loss, args in (part.get("losses") or {}).items():
            try:
                resolve_hparams(loss, **args)
            except ValueError as exc:
                raise ConfigError(f"simulations.{name}.losses.{loss}", str(exc)) from None


def part_variants(config: dict[str, Any], part: str) -> list[str]:
    """The variants a part selects, in config order."""
    patterns = config["parts"][part]["variants"]
    return [v for v in config["variants"] if any(fnmatch.fnmatchcase(v, p) for p in patterns)]


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def check_config_files(paths) -> None:
    """Read each config file strictly: a YAML syntax error or a duplicated key (which would silently
    drop a variant) raises :class:`DataFormatError` naming the file and line."""
    for path in map(Path, paths):
        try:
            yaml.load(path.read_text(), Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
        except OSError as exc:
            raise DataFormatError(path, f"cannot read: {exc.strerror}") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise DataFormatError(path, str(exc.problem or exc), mark.line + 1 if mark else None) from None
