"""What a study is, as the tables and figures need it: each variant's role, family and order.

:func:`describe_study` turns the validated config and the resolved run settings (the workflow's
``RUNS``) into a small JSON-ready description; the aggregate rule passes it to
``gradparadigm aggregate --study``. Roles:

* ``baseline``: ``loss: none`` (the encoder as loaded);
* ``contrastive``: infonce, arccon, mpt, met, mat (and sg, the paradigm's own loss);
* for the non-contrastive losses (mhe, mhs, barlow_twins, vicreg), from the switches ``gd``,
  ``weight``, ``ratio`` of the resolved ``loss_args``: all off ``ori`` (the loss as published), all
  on ``mod`` (the paper's repair), exactly one off ``ablation`` (``ablated`` names it), anything
  else ``custom``. A variant whose switches differ between models is ``custom`` too.

:func:`variant_order` is the paper's order of rows: baselines, contrastive (infonce, arccon, mpt,
met, mat, sg), then per family (mhe, mhs, barlow_twins, vicreg) ori, mod, no GD, no W, no R,
custom; the config's order breaks ties.
"""

from __future__ import annotations

from typing import Any, Mapping

from gradparadigm.errors import GradParadigmError

CONTRASTIVE = ("infonce", "arccon", "mpt", "met", "mat", "sg")
NON_CONTRASTIVE = ("mhe", "mhs", "barlow_twins", "vicreg")
COMPONENTS = ("gd", "weight", "ratio")
ROLES = ("baseline", "contrastive", "ori", "mod", "ablation", "custom")
FAMILY_LABELS = {
    "mhe": "MHE",
    "mhs": "MHS",
    "barlow_twins": "Barlow Twins",
    "vicreg": "VICReg",
    "infonce": "InfoNCE",
    "arccon": "ArcCon",
    "mpt": "MPT",
    "met": "MET",
    "mat": "MAT",
    "sg": "SG",
    "none": "untrained",
}
COMPONENT_LABELS = {"gd": "GD", "weight": "W", "ratio": "R"}
# position of a non-contrastive variant inside its family block
_FAMILY_RANK = {
    ("ori", None): 0,
    ("mod", None): 1,
    ("ablation", "gd"): 2,
    ("ablation", "weight"): 3,
    ("ablation", "ratio"): 4,
    ("custom", None): 5,
}


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


def switch_role(loss_args: Mapping[str, Any]) -> tuple[str, str | None]:
    """(role, ablated component) of a non-contrastive loss from its ``gd``/``weight``/``ratio`` switches."""
    switches = [loss_args.get(c) for c in COMPONENTS]
    if any(not isinstance(s, bool) for s in switches):
        return "custom", None
    off = [c for c, on in zip(COMPONENTS, switches) if not on]
    if len(off) == len(COMPONENTS):
        return "ori", None
    if not off:
        return "mod", None
    if len(off) == 1:
        return "ablation", off[0]
    return "custom", None


def variant_role(loss: str, runs_loss_args: list[Mapping[str, Any]]) -> tuple[str, str | None]:
    """(role, ablated) of a variant with ``loss``, from its resolved ``loss_args`` on every model."""
    if loss == "none":
        return "baseline", None
    if loss in CONTRASTIVE:
        return "contrastive", None
    if loss in NON_CONTRASTIVE:
        roles = {switch_role(args) for args in runs_loss_args}
        return roles.pop() if len(roles) == 1 else ("custom", None)
    return "custom", None


def variant_label(name: str, info: Mapping[str, Any]) -> str:
    """A short readable label: ``MHE ori``, ``MHE mod``, ``MHE no GD``, ``InfoNCE``, ``untrained (cls)``."""
    family, role = info.get("family", name), info.get("role", "custom")
    if role == "baseline":
        return f"untrained ({info.get('pooler', '?')})"
    if role in ("ori", "mod"):
        return f"{family_label(family)} {role}"
    if role == "ablation":
        return f"{family_label(family)} no {COMPONENT_LABELS.get(info.get('ablated'), info.get('ablated'))}"
    if role == "contrastive":
        return family_label(family)
    return name


def describe_study(config: Mapping[str, Any], runs: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict:
    """The study as the tables and figures need it (JSON-ready; variants in the paper's order).

    ``config``: the validated config (schema defaults filled in). ``runs``: ``(model, variant)`` ->
    resolved run settings (:func:`gradparadigm.training.settings.resolve_run_settings`), for
    trained variants only.
    """
    variants: dict[str, dict] = {}
    for name, spec in config["variants"].items():
        loss = spec.get("loss", "none")
        trained = [run for (m, v), run in runs.items() if v == name]
        if loss != "none" and not trained:
            raise GradParadigmError(f"variant {name!r} (loss {loss}) has no resolved run settings")
        role, ablated = variant_role(loss, [run.get("loss_args") or {} for run in trained])
        pooler = trained[0]["pooler"] if trained else spec.get("pooler", "cls")
        variants[name] = {
            "loss": loss,
            "role": role,
            "family": loss,
            "ablated": ablated,
            "base": spec.get("base"),
            "pooler": pooler,
            "description": spec.get("description"),
            "seeds": spec.get("seeds"),
        }
        variants[name]["label"] = variant_label(name, variants[name])
    ordered = variant_order({"variants": variants})
    evaluation = config.get("eval") or {}
    return {
        "models": {name: {"source": spec["source"]} for name, spec in config["models"].items()},
        "variants": {name: variants[name] for name in ordered},
        "runs": {
            f"{m}/{v}": {
                "steps": run["train"].get("max_steps"),
                "epochs": run["train"].get("epochs"),
                "batch_size": run["train"]["batch_size"],
                "lr": run["train"]["lr"],
                "max_sentences": run["train"].get("max_sentences"),
            }
            for (m, v), run in runs.items()
        },
        "seeds": list(config.get("seeds") or []),
        "eval": {
            key: evaluation[key]
            for key in ("sts_tasks", "transfer_tasks", "transfer_mode", "transfer_engine")
            if key in evaluation
        },
    }


def _order_key(position: int, info: Mapping[str, Any]) -> tuple[int, int, int]:
    role, family = info.get("role"), info.get("family")
    if role == "baseline":
        return 0, 0, position
    if role == "contrastive" and family in CONTRASTIVE:
        return 1, CONTRASTIVE.index(family), position
    if family in NON_CONTRASTIVE:
        return 2 + NON_CONTRASTIVE.index(family), _FAMILY_RANK.get((role, info.get("ablated")), 5), position
    return 2 + len(NON_CONTRASTIVE), 0, position


def variant_order(study: Mapping[str, Any]) -> list[str]:
    """The study's variants in the paper's order (see the module docstring)."""
    variants = study.get("variants") or {}
    keyed = sorted((_order_key(i, info), name) for i, (name, info) in enumerate(variants.items()))
    return [name for _, name in keyed]


def _by_role(study: Mapping[str, Any], family: str, role: str, ablated: str | None = None) -> list[str]:
    return [
        v
        for v in variant_order(study)
        if study["variants"][v].get("family") == family
        and study["variants"][v].get("role") == role
        and (ablated is None or study["variants"][v].get("ablated") == ablated)
    ]


def _partner(study: Mapping[str, Any], variant: str | None, role: str) -> str | None:
    """The ``role`` variant ``variant`` derives from: its ``base`` if that has the role, else the
    first of its family with the role."""
    if variant is None:
        return None
    info = study["variants"][variant]
    base = info.get("base")
    if (
        base in study["variants"]
        and study["variants"][base].get("role") == role
        and study["variants"][base].get("family") == info.get("family")
    ):
        return base
    candidates = _by_role(study, info["family"], role)
    return candidates[0] if candidates else None


def ori_mod_pairs(study: Mapping[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(family, ori variant, mod variant) per non-contrastive family that has either, paper order.

    A mod variant pairs with the ori variant it names as ``base``, else the family's first ori."""
    pairs = []
    for family in NON_CONTRASTIVE:
        mods = _by_role(study, family, "mod")
        if mods:
            pairs.extend((family, _partner(study, mod, "ori"), mod) for mod in mods)
        else:
            pairs.extend((family, ori, None) for ori in _by_role(study, family, "ori")[:1])
    return pairs


def ablation_sets(study: Mapping[str, Any]) -> list[tuple[str, str | None, dict[str, str]]]:
    """(family, mod variant, {component: ablation variant}) per family with ablations, paper order.

    An ablation belongs to the mod variant it names as ``base``, else to the family's first mod;
    of two ablations of one component for the same mod, the first (paper order) is used."""
    sets: dict[tuple[str, str | None], dict[str, str]] = {}
    for family in NON_CONTRASTIVE:
        for variant in _by_role(study, family, "ablation"):
            mod = _partner(study, variant, "mod")
            sets.setdefault((family, mod), {}).setdefault(study["variants"][variant]["ablated"], variant)
    return [
        (family, mod, dict(sorted(found.items(), key=lambda kv: COMPONENTS.index(kv[0]))))
        for (family, mod), found in sets.items()
    ]


def validate_study(study: Any, where: str = "--study") -> dict:
    """Check the shape of a study description given on the command line."""
    if not isinstance(study, dict):
        raise GradParadigmError(f"{where}: expected a JSON object, got {type(study).__name__}")
    for key in ("models", "variants"):
        if not isinstance(study.get(key), dict):
            raise GradParadigmError(f"{where}: needs an object {key!r} (the output of describe_study)")
    for name, info in study["variants"].items():
        if not isinstance(info, dict) or info.get("role") not in ROLES:
            raise GradParadigmError(f"{where}: variant {name!r} needs a role, one of {', '.join(ROLES)}")
    return study


def study_from_results(models: list[str], variants: list[str]) -> dict:
    """A study when none is given: the variants in the given order, all ``custom``."""
    return {
        "models": {m: {"source": None} for m in models},
        "variants": {
            v: {
                "loss": None,
                "role": "custom",
                "family": v,
                "ablated": None,
                "base": None,
                "pooler": None,
                "description": None,
                "label": v,
            }
            for v in variants
        },
        "runs": {},
        "seeds": [],
        "eval": {},
    }
