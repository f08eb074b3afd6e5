"""Convert DeepMind's official GenCast or GraphCast .npz into a mindgencast checkpoint directory
(MindSpore weights + YAML configs), recording the grid the model runs on.

Writes OUT_DIR/model.ckpt (weights), OUT_DIR/config.yaml (every config and the grid)
and OUT_DIR/checkpoint.yaml (format version, licence, source file)."""

from __future__ import annotations

from mindgencast.config import GridConfig

NAME = "convert"
HELP = "convert an official GenCast/GraphCast .npz to a MindSpore checkpoint directory"


def add_arguments(parser):
    parser.add_argument("npz", help="DeepMind GenCast or GraphCast checkpoint (.npz); with --export: a converted "
                                    "directory or a training RUN")
    parser.add_argument("out_dir", help="new output directory; with --export: the .npz to write")
    parser.add_argument("--export", action="store_true",
                        help="the other way: write a converted directory or a RUN's latest (EMA) weights as "
                             "DeepMind's .npz")
    parser.add_argument("--grid", type=float, default=None,
                        help="grid resolution in degrees (default: from the file name, e.g. 1p0deg or "
                             "'resolution 1.0' -> 1.0)")


def run(args) -> int:
    from mindgencast.checkpoint import convert_checkpoint

    if args.export:
        import os

        from mindgencast.checkpoint import export_npz, load_checkpoint

        if os.path.exists(args.out_dir):
            raise FileExistsError(f"{args.out_dir!r} exists; choose a new .npz path")
        ckpt = load_checkpoint(args.npz)
        export_npz(ckpt, args.out_dir)
        print(f"wrote {args.out_dir}: {len(ckpt.params)} arrays, {ckpt.num_parameters:,} parameters")
        return 0
    grid = GridConfig(resolution=args.grid) if args.grid is not None else None
    ckpt = convert_checkpoint(args.npz, args.out_dir, grid=grid)
    print(f"wrote {args.out_dir}: {len(ckpt.params)} arrays, {ckpt.num_parameters:,} parameters, "
          f"grid {ckpt.grid.resolution:g} deg")
    return 0
