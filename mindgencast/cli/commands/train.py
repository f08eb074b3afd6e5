"""Train a GenCast denoiser on a packed store (see `mindgencast prepare`) into a RUN directory.
Writes (rank 0 only) RUN/config.yaml, RUN/metrics.csv, RUN/loss.png and
RUN/checkpoints/step_XXXXXXX/ (the last --keep; see docs/training.md). Resumable with
--resume. Data parallel under msrun: `msrun --worker_num=2 --local_worker_num=2
--master_addr=127.0.0.1 scripts/train.py ... --data-parallel` (scripts/launch_ascend_cluster.sh
for N nodes x 8 NPUs).

Optimisation (defaults of mindgencast.training.TrainConfig; a flag left out keeps the
config file's value): AdamW (MindSpore AdamWeightDecay, beta1 0.9, beta2 0.999, eps 1e-6)
with decoupled weight decay --weight-decay; learning rate rising linearly over
--warmup-steps to --lr, then cosine-decayed to a floor of 1e-5 (--min-lr) at the last
step; gradients clipped to a global norm of 1.0. See docs/custom_task.md for model sizes
and CPU training times."""

from __future__ import annotations

NAME = "train"
HELP = "train GenCast on a training store into a resumable run directory (single process or msrun)"

# CLI flag -> TrainConfig field; flags left out keep the config file's value (or the default)
_FLAGS = {"steps": "steps", "batch_size": "batch_size", "lr": "learning_rate", "min_lr": "min_learning_rate",
          "warmup_steps": "warmup_steps", "weight_decay": "weight_decay", "seed": "seed", "log_every": "log_every",
          "checkpoint_every": "checkpoint_every", "keep": "keep", "validate_every": "validate_every",
          "grad_accumulation": "grad_accumulation", "ema_decay": "ema_decay", "precision": "precision",
          "num_workers": "num_workers", "validation_examples": "validation_examples",
          "small_noise_fraction": "small_noise_fraction", "small_noise_max": "small_noise_max"}


def add_arguments(parser):
    parser.add_argument("--config", default="gencast_tiny",
                        help="built-in config name, GenCast config YAML, or run config YAML with model:/training: "
                             "sections (the model part is ignored with --init-checkpoint)")
    parser.add_argument("--init-checkpoint", default=None,
                        help="fine-tune from DeepMind's .npz, a converted directory or a RUN (its latest weights)")
    parser.add_argument("--store", required=True, help="training store (.h5) from `mindgencast prepare`")
    parser.add_argument("--stats", required=True, help="normalisation statistics directory")
    parser.add_argument("--out", required=True, help="RUN directory (new, or the run to continue with --resume)")
    parser.add_argument("--resume", action="store_true", help="continue --out from its latest complete checkpoint")
    parser.add_argument("--validation-store", default=None, help="held-out store for the validation loss")
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (default: 1000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="examples per optimiser step over all workers and accumulation steps (default: 1)")
    parser.add_argument("--grad-accumulation", type=int, default=None, help="micro steps per update (default: 1)")
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate, reached after the warm-up (default: 0.001)")
    parser.add_argument("--min-lr", type=float, default=None, help="final learning rate (default: 1e-05)")
    parser.add_argument("--warmup-steps", type=int, default=None,
                        help="steps of linear learning-rate warm-up (default: 50)")
    parser.add_argument("--weight-decay", type=float, default=None, help="AdamW decoupled weight decay (default: 0.1)")
    parser.add_argument("--ema-decay", type=float, default=None, help="EMA of the weights, 0 = off (default: 0)")
    parser.add_argument("--small-noise-fraction", type=float, default=None,
                        help="fraction of examples with sigma log-uniform in [min training sigma, "
                             "--small-noise-max] instead of GenCast's distribution (default: 0)")
    parser.add_argument("--small-noise-max", type=float, default=None,
                        help="upper end of that log-uniform sigma range (default: 1.0)")
    parser.add_argument("--precision", default=None, choices=["float32", "float16", "bfloat16"],
                        help="matmul dtype (default: float32; float16 uses loss scaling; bfloat16 on Ascend)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seeds the shuffle, noise levels and noise (default: 0)")
    parser.add_argument("--log-every", type=int, default=None, help="steps per metrics row (default: 10)")
    parser.add_argument("--checkpoint-every", type=int, default=None,
                        help="steps between checkpoints, and the last step (default: 500)")
    parser.add_argument("--keep", type=int, default=None, help="checkpoints kept (default: 3)")
    parser.add_argument("--validate-every", type=int, default=None,
                        help="steps between validation losses (default: at each checkpoint)")
    parser.add_argument("--validation-examples", type=int, default=None,
                        help="validation-store examples scored each time (default: 8)")
    parser.add_argument("--num-workers", type=int, default=None, help="dataset reader threads (default: 1)")
    parser.add_argument("--data-parallel", action="store_true", help="run under msrun with DATA_PARALLEL")
    parser.add_argument("--mode", default="graph", choices=["graph", "pynative"],
                        help="MindSpore execution mode: graph (default; as on Ascend) or pynative (op by op)")
    parser.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")


def run(args) -> int:
    import mindspore as ms

    from mindgencast.training.job import run_training

    ms.set_context(mode=ms.GRAPH_MODE if args.mode == "graph" else ms.PYNATIVE_MODE)
    overrides = {field: getattr(args, flag) for flag, field in _FLAGS.items() if getattr(args, flag) is not None}
    run_training(config=args.config, init_checkpoint=args.init_checkpoint, store=args.store, stats=args.stats,
                 out=args.out, resume=args.resume, validation_store=args.validation_store,
                 data_parallel=args.data_parallel, progress=not args.no_progress, **overrides)
    return 0
