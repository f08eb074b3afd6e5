"""Convert DeepMind's official GenCast or GraphCast .npz into a mindgencast checkpoint directory
(MindSpore weights + YAML configs), recording the grid the model runs on.

Writes OUT_DIR/model.ckpt (weights), OUT_DIR/config.yaml (every config and the grid)
and OUT_DIR/checkpoint.yaml (format version, licence, source file)."""

from __future__ import annotations

from mindgencast.config import GridConfig

NAME = "convert"
HELP = "convert an official GenCast/GraphCast .npz to a MindSpore checkpoint directory"


def add_arguments(parser):
    parser.add_argument("npz", help="DeepMind GenCast or GraphCast checkpoint (.npz)")
    parser.add_argument("out_dir", help="new output directory")
    parser.add_argument("--grid", type=float, default=None,
                        help="grid resolution in degrees (default: from the file name, e.g. 1p0deg or "
                             "'resolution 1.0' -> 1.0)")


def run(args) -> int:
    from mindgencast.checkpoint import convert_checkpoint

    grid = GridConfig(resolution=args.grid) if args.grid is not None else None
    ckpt = convert_checkpoint(args.npz, args.out_dir, grid=grid)
    print(f"wrote {args.out_dir}: {len(ckpt.params)} arrays, {ckpt.num_parameters:,} parameters, "
          f"grid {ckpt.grid.resolution:g} deg")
    return 0
