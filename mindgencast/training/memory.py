"""Memory controls: recompute (gradient checkpointing) of parts of the denoiser network.

A recomputed cell keeps no activations for the backward pass: MindSpore runs its forward
again while differentiating (``Cell.recompute()``), trading compute for memory on large
grids. Gradients are unchanged (tested).
"""

from __future__ import annotations

__all__ = ["apply_recompute"]


def apply_recompute(network, encoder: bool = False, decoder: bool = False, processor_every: int = 0) -> list[str]:
    """Marks cells of GenCast's or GraphCast's network for recompute.

    Args:
      network: GenCast's DenoiserNetwork (``grid2mesh_gnn``, ``mesh_transformer.blocks``,
        ``mesh2grid_gnn``) or a GraphCastNetwork (processor: ``mesh_gnn.edge_steps`` /
        ``node_steps``, one pair per message-passing step).
      encoder, decoder: recompute the grid->mesh encoder / mesh->grid decoder.
      processor_every: recompute processor layers (GraphCast: message-passing steps)
        0, n, 2n, ... (0: none).

    Returns:
      The names of the recomputed cells.
    """
    chosen = []
    if encoder:
        chosen.append(("grid2mesh_gnn", network.grid2mesh_gnn))
    if decoder:
        chosen.append(("mesh2grid_gnn", network.mesh2grid_gnn))
    if processor_every > 0 and hasattr(network, "mesh_transformer"):
        blocks = network.mesh_transformer.blocks
        chosen += [(f"mesh_transformer.blocks.{i}", blocks[i]) for i in range(0, len(blocks), processor_every)]
    elif processor_every > 0:
        gnn = network.mesh_gnn
        for i in range(0, len(gnn.edge_steps), processor_every):
            chosen += [(f"mesh_gnn.edge_steps.{i}", gnn.edge_steps[i]), (f"mesh_gnn.node_steps.{i}", gnn.node_steps[i])]
    for _, cell in chosen:
        cell.recompute()
    return [name for name, _ in chosen]
