"""Sweeps: one variant trained over the values of one of its settings (config ``sweeps:``).

::

    sweeps:
      gd-margin:
        description: "GD: the margin m (r = 1, tau = 0.05)"
        variant: sg-sweep          # its settings are the base of every point
        param: loss_args.m         # a dotted key inside the variant
        values: [0.1, 0.3, 1.0]

becomes, when the config is validated (after ``base:`` resolution, before the schema check), the
variants ``sg-sweep-m~0.1``, ``sg-sweep-m~0.3``, ``sg-sweep-m~1.0``, each placed right after the
swept variant, so their results land in ``results/<model>/sg-sweep-m~0.3/seed~0/``. The name is
``<variant>-<leaf>~<value>`` with the value written by :func:`format_value`. A point is the swept
variant with one key changed: it keeps its ``base`` (the swept variant), ``models``, ``seeds`` and
``per_model``; it is evaluated on the transfer tasks only if the swept variant says
``eval_transfer: true`` itself. A variant marked ``template: true`` is only a base for others and
sweeps: it is checked, then dropped from the study (never trained, in no table).

Every problem raises :class:`~gradparadigm.errors.ConfigError` naming the sweep's key
(``sweeps.<s>.variant``, ``.param``, ``.values.<i>``); :func:`rekey` moves an error the schema or a
loss finds in a point (``variants.sg-sweep-m~0.3.…``) to the value that made it.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from gradparadigm.errors import ConfigError

PARAM_ROOTS = ("loss_args", "train", "augment", "pooler")
# the settings a point does not inherit from the swept variant as they are
_NOT_INHERITED = ("description", "template", "eval_transfer")


def format_value(value: Any) -> str:
    """A swept value as it appears in a variant name: stable and readable.

    ``0.3`` -> ``0.3``, ``1e-05`` -> ``1e-05``, ``1.0`` -> ``1.0``, ``2`` -> ``2``, ``True`` ->
    ``true``, a string as it is (Python's shortest round-trip form of a float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def point_name(variant: str, param: str, value: Any) -> str:
    return f"{variant}-{param.rsplit('.', 1)[-1]}~{format_value(value)}"


def sweep_points(config: dict[str, Any], sweep: str) -> list[tuple[Any, str]]:
    """(value, variant name) of every point of ``sweep``, in the order of its values."""
    spec = config["sweeps"][sweep]
    return [(value, point_name(spec["variant"], spec["param"], value)) for value in spec["values"]]


def point_variants(config: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Variant name -> (sweep, index of its value) of every sweep point of the config (of the
    sweeps that are well formed: the others are reported by :func:`expand_sweeps`)."""
    sweeps = config.get("sweeps")
    if not isinstance(sweeps, dict):
        return {}
    return {
        name: (sweep, i)
        for sweep, spec in sweeps.items()
        if isinstance(spec, dict)
        and isinstance(spec.get("variant"), str)
        and isinstance(spec.get("param"), str)
        and isinstance(spec.get("values"), list)
        for i, (_, name) in enumerate(sweep_points(config, sweep))
    }


def _get(mapping: Any, path: list[str]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(mapping, dict) or key not in mapping:
            return False, None
        mapping = mapping[key]
    return True, mapping


def _set(mapping: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(mapping.get(key), dict):
            mapping[key] = {}
        mapping = mapping[key]
    mapping[path[-1]] = value


def _check_param(config: dict, sweep: str, spec: dict) -> tuple[list[str], dict | None]:
    """The param as a key path inside the variant, and the part of the variant's resolved
    hyperparameters that holds it (a paradigm part, complete with its kind) when the key is nested
    deeper than ``loss_args.<key>``; an error names ``sweeps.<s>.param``."""
    key = f"sweeps.{sweep}.param"
    param, variant = spec.get("param"), config["variants"][spec["variant"]]
    if not isinstance(param, str) or not param or any(not p for p in param.split(".")):
        raise ConfigError(key, f"{param!r} is not a dotted key such as loss_args.m or train.lr")
    path = param.split(".")
    if path[0] not in PARAM_ROOTS or (path[0] == "pooler") != (len(path) == 1):
        raise ConfigError(
            key,
            f"{param!r}: a sweep sets loss_args.<key> (loss_args.gd.m for a paradigm "
            "part), train.<setting>, augment.<setting> or pooler",
        )
    if path[0] in ("train", "augment"):
        import dataclasses

        from gradparadigm.training.settings import AugmentSettings, TrainSettings

        known = [f.name for f in dataclasses.fields(TrainSettings if path[0] == "train" else AugmentSettings)]
        if len(path) != 2 or path[1] not in known:
            raise ConfigError(key, f"{param!r}: no such setting; {path[0]} settings: {', '.join(known)}")
    loss, part = variant.get("loss"), None
    if path[0] == "loss_args":
        if loss in (None, "none"):
            raise ConfigError(key, f"{param!r}: variant {spec['variant']!r} is not trained (loss: none)")
        from gradparadigm.losses import resolve_hparams

        try:
            resolved = resolve_hparams(loss, **(variant.get("loss_args") or {}))
        except ValueError as exc:  # the variant itself is broken: its own key says so
            raise ConfigError(f"variants.{spec['variant']}.loss_args", str(exc)) from None
        found, _ = _get(resolved, path[1:])
        if not found:
            raise ConfigError(
                key,
                f"{param!r}: loss {loss!r} has no hyperparameter {'.'.join(path[1:])!r}; "
                f"it has: {', '.join(_leaves(resolved))}",
            )
        if len(path) > 2:
            part = copy.deepcopy(_get(resolved, path[1:-1])[1])
    for model, override in (variant.get("per_model") or {}).items():
        if isinstance(override, dict) and _get(override, path)[0]:
            raise ConfigError(
                key,
                f"{param!r} is set again in variants.{spec['variant']}.per_model.{model}, "
                "which would override the swept value on that model",
            )
    return path, part


def _leaves(mapping: dict, prefix: str = "") -> list[str]:
    return [
        leaf
        for k, v in mapping.items()
        for leaf in (_leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"])
    ]


def _check_values(sweep: str, values: Any) -> None:
    key = f"sweeps.{sweep}.values"
    if not isinstance(values, list) or not values:
        raise ConfigError(key, "expected a non-empty list of values")
    for i, value in enumerate(values):
        if not isinstance(value, (bool, int, float, str)):
            raise ConfigError(f"{key}.{i}", f"{value!r}: a swept value is a number, a string or true/false")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key}.{i}", f"{value!r} is not a finite number")
        for j, earlier in enumerate(values[:i]):
            if isinstance(earlier, bool) == isinstance(value, bool) and earlier == value:
                raise ConfigError(f"{key}.{i}", f"{value!r} repeats value {j} ({earlier!r})")


def expand_sweeps(config: dict[str, Any]) -> None:
    """Add every sweep's points to ``config['variants']``, each right after the swept variant."""
    sweeps = config.get("sweeps")
    variants = config.get("variants")
    if not sweeps or not isinstance(sweeps, dict) or not isinstance(variants, dict):
        return  # nothing to do, or the schema reports the shape
    points: dict[str, list[tuple[str, dict]]] = {}
    made: dict[str, str] = {}  # point name -> the sweep and value that made it
    for sweep, spec in sweeps.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"sweeps.{sweep}", f"expected a mapping with variant, param and values, got {spec!r}")
        name = spec.get("variant")
        if not isinstance(name, str) or name not in variants:
            raise ConfigError(f"sweeps.{sweep}.variant", f"no variant {name!r}; variants: {', '.join(variants)}")
        if not isinstance(variants[name], dict):
            return  # the schema reports the variant
        path, part = _check_param(config, sweep, spec)
        _check_values(sweep, spec.get("values"))
        for i, (value, point) in enumerate(sweep_points(config, sweep)):
            where = f"sweeps.{sweep}.values.{i}"
            if point in variants:
                raise ConfigError(where, f"the point's name {point!r} is already a variant of the config")
            if point in made:
                raise ConfigError(where, f"the point's name {point!r} is also made by {made[point]}")
            made[point] = where
            settings = {k: copy.deepcopy(v) for k, v in variants[name].items() if k not in _NOT_INHERITED}
            if part is not None:  # the variant's part as resolved (its kind stated), then the value
                _set(settings, path[:-1], copy.deepcopy(part))
            _set(settings, path, value)
            settings["base"] = name
            settings["eval_transfer"] = variants[name].get("eval_transfer", False)
            described = spec.get("description") or f"sweep {sweep}"
            settings["description"] = f"{described}: {spec['param']} = {format_value(value)}"
            points.setdefault(name, []).append((point, settings))
    expanded: dict[str, Any] = {}
    for name, settings in variants.items():
        expanded[name] = settings
        expanded.update(points.get(name, []))
    variants.clear()
    variants.update(expanded)


def rekey(config: dict[str, Any], key: str, message: str) -> tuple[str, str]:
    """An error found in a sweep point (``variants.<point>…``) as the error of the value that made it."""
    parts = key.split(".")
    owners = point_variants(config)
    # a variant name may contain dots: the longest prefix that is a point
    for end in range(len(parts), 1, -1):
        point = ".".join(parts[1:end])
        if parts[0] == "variants" and point in owners:
            sweep, i = owners[point]
            param, value = config["sweeps"][sweep]["param"], config["sweeps"][sweep]["values"][i]
            return f"sweeps.{sweep}.values.{i}", (
                f"{param} = {value!r} (variant {point!r}): config key '{key}': {message}{yaml_hint(value)}"
            )
    return key, message


def yaml_hint(value: Any) -> str:
    """A hint for a number YAML read as a string (PyYAML reads 1e-5 without a dot as text)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f" (YAML read {value!r} as text: write it with a dot, e.g. 1.0e-5)"
    return ""


def check_points(config: dict[str, Any]) -> None:
    """Each point's loss hyperparameters are valid for its loss (after the schema check)."""
    from gradparadigm.losses import resolve_hparams

    for point, (sweep, i) in point_variants(config).items():
        spec = config["variants"][point]
        if spec.get("loss", "none") == "none":
            continue
        try:
            resolve_hparams(spec["loss"], **(spec.get("loss_args") or {}))
        except ValueError as exc:
            raise ConfigError(*rekey(config, f"variants.{point}.loss_args", str(exc))) from None


def drop_templates(config: dict[str, Any]) -> None:
    """Remove the variants marked ``template: true`` (checked, never run); each must be used."""
    variants = config["variants"]
    templates = [name for name, spec in variants.items() if spec.get("template")]
    swept = {spec["variant"] for spec in (config.get("sweeps") or {}).values()}
    for name in templates:
        if name not in swept and not any(spec.get("base") == name for spec in variants.values()):
            raise ConfigError(
                f"variants.{name}.template",
                "a template is only a base for other variants and sweeps, and no variant or sweep uses this one",
            )
    for name in templates:
        del variants[name]
    if not variants:
        raise ConfigError("variants", "every variant is a template: nothing would run")
