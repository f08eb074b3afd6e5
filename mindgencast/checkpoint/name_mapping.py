"""JAX (haiku) parameter names <-> MindSpore parameter names, as data.

Each rule is a pair of templates; ``{name}`` fields match ``[A-Za-z0-9_]+`` and
``{layer}`` / ``{i}`` / ``{step}`` fields match integers (``{layer}`` zero-padded to two
digits on the JAX side, as haiku names transformer blocks ``block_00``). The same
table is read in both directions, and every key of a checkpoint must match
exactly one rule (tested for every key of the fixture checkpoint).
"""

from __future__ import annotations

import functools
import re

__all__ = ["NAME_RULES", "jax_to_mindspore", "mindspore_to_jax"]

# (JAX .npz key template, MindSpore parameter name template)
NAME_RULES: tuple[tuple[str, str], ...] = (
    ("params:fourier_features_mlp/~/mlp/~/linear_{i}:{p}",
     "network.noise_encoder.mlp.layers.{i}.{p}"),
    ("params:{gnn}/~_networks_builder/{block}_mlp/~/linear_{i}:{p}",
     "network.{gnn}.{block}.mlp.layers.{i}.{p}"),
    ("params:{gnn}/~_networks_builder/{block}_norm_conditioning/linear:{p}",
     "network.{gnn}.{block}.norm_conditioning.linear.{p}"),
    ("params:mesh_transformer/~/transformer/block_{layer}/block_{layer}_norm_conditioning/linear:{p}",
     "network.mesh_transformer.blocks.{layer}.attention_norm.norm_conditioning.linear.{p}"),
    ("params:mesh_transformer/~/transformer/block_{layer}/block_{layer}_norm_conditioning_1/linear:{p}",
     "network.mesh_transformer.blocks.{layer}.ffw_norm.norm_conditioning.linear.{p}"),
    ("params:mesh_transformer/~/transformer/block_{layer}/{mha}:{p}",
     "network.mesh_transformer.blocks.{layer}.attention.{mha}.{p}"),
    ("params:mesh_transformer/~/transformer/block_{layer}/{ffw}:{p}",
     "network.mesh_transformer.blocks.{layer}.{ffw}.{p}"),
    ("params:mesh_transformer/~/transformer/transformer_final_norm_conditioning/linear:{p}",
     "network.mesh_transformer.final_norm.norm_conditioning.linear.{p}"),
)

_FIELD_PATTERNS = {
    "i": r"\d+",
    "layer": r"\d+",
    "step": r"\d+",
    "p": r"w|b",
    "q": r"scale|offset",
    "gnn": r"grid2mesh_gnn|mesh2grid_gnn",
    "block": r"(?:encoder|processor|decoder)_(?:edges|nodes)_(?:\d+_)?[a-z0-9]+(?:_nodes)?",
    "mha": r"mha_proj_q|mha_proj_k|mha_proj_v|mha_final",
    "ffw": r"ffw_up|ffw_down",
}
_INT_FIELDS = ("i", "layer", "step")  # only "layer" is zero-padded on the JAX side


def _compile(template: str, ms_side: bool) -> re.Pattern:
    out, seen, pos = [], set(), 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        field = m.group(1)
        if field in seen:
            out.append(f"(?P={field})")
        else:
            seen.add(field)
            pattern = r"\d+" if (ms_side and field in _INT_FIELDS) else _FIELD_PATTERNS[field]
            out.append(f"(?P<{field}>{pattern})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out) + r"\Z")


@functools.cache
def _compiled(rules: tuple) -> tuple:
    return tuple((_compile(j, False), _compile(m, True), j, m) for j, m in rules)


def _translate(name: str, to_mindspore: bool, rules: tuple = NAME_RULES) -> str:
    matches = []
    for jax_re, ms_re, jax_t, ms_t in _compiled(tuple(rules)):
        m = (jax_re if to_mindspore else ms_re).match(name)
        if m:
            fields = dict(m.groupdict())
            for f in _INT_FIELDS:
                if f in fields:
                    n = int(fields[f])
                    fields[f] = (str(n) if to_mindspore else (f"{n:02d}" if f == "layer" else str(n)))
            matches.append((ms_t if to_mindspore else jax_t).format(**fields))
    if len(matches) != 1:
        side = "JAX checkpoint" if to_mindspore else "MindSpore"
        what = "no" if not matches else "several"
        table = "mindgencast.checkpoint.name_mapping.NAME_RULES" if rules is NAME_RULES else "the model's table"
        raise KeyError(f"{side} parameter name {name!r} matches {what} name-mapping rules ({table})")
    return matches[0]


def jax_to_mindspore(name: str, rules: tuple = NAME_RULES) -> str:
    """``params:mesh_transformer/~/transformer/block_00/ffw_up:w`` ->
    ``network.mesh_transformer.blocks.0.ffw_up.w``.

    Args:
      rules: the rule table (default GenCast's; GraphCast's is
        ``mindgencast.graphcast.checkpoint.GRAPHCAST_NAME_RULES``).
    """
    return _translate(name, True, rules)


def mindspore_to_jax(name: str, rules: tuple = NAME_RULES) -> str:
    """Inverse of :func:`jax_to_mindspore` (same ``rules``)."""
    return _translate(name, False, rules)
