"""Train a GenCast denoiser on a packed store (see `mindgencast prepare`). Data parallel under
msrun: `msrun --worker_num=2 --local_worker_num=2 --master_addr=127.0.0.1 scripts/train.py ...
--data-parallel`. Writes a mindgencast checkpoint directory (rank 0) and the loss history.

Optimisation (defaults of mindgencast.training.TrainConfig): AdamW (MindSpore
AdamWeightDecay, beta1 0.9, beta2 0.999, eps 1e-6) with decoupled weight decay
--weight-decay; learning rate rising linearly over --warmup-steps to --lr, then
cosine-decayed to a floor of 1e-5 at the last step; gradients clipped to a global
norm of 1.0. See docs/custom_task.md for model sizes and CPU training times."""

from __future__ import annotations

NAME = "train"
HELP = "train GenCast on a training store (single process or msrun data parallel)"


def add_arguments(parser):
    parser.add_argument("--config", default="gencast_tiny",
                        help="built-in config name or YAML path (ignored with --init-checkpoint)")
    parser.add_argument("--init-checkpoint", default=None, help="fine-tune from this checkpoint instead")
    parser.add_argument("--store", required=True, help="training store (.h5) from `mindgencast prepare`")
    parser.add_argument("--stats", required=True, help="normalisation statistics directory")
    parser.add_argument("--out", required=True, help="new checkpoint directory to write")
    parser.add_argument("--steps", type=int, default=1000, help="optimiser steps")
    parser.add_argument("--batch-size", type=int, default=1, help="examples per step per rank")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate, reached after the warm-up")
    parser.add_argument("--warmup-steps", type=int, default=50, help="steps of linear learning-rate warm-up")
    parser.add_argument("--weight-decay", type=float, default=0.1, help="AdamW decoupled weight decay")
    parser.add_argument("--seed", type=int, default=0, help="seeds the shuffle, noise levels and noise")
    parser.add_argument("--log-every", type=int, default=10, help="steps between loss log lines")
    parser.add_argument("--data-parallel", action="store_true", help="run under msrun with DATA_PARALLEL")


def run(args) -> int:
    from mindgencast.training.job import run_training

    run_training(config=args.config, init_checkpoint=args.init_checkpoint, store=args.store, stats=args.stats,
                 out=args.out, steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr,
                 warmup_steps=args.warmup_steps, weight_decay=args.weight_decay, seed=args.seed,
                 log_every=args.log_every, data_parallel=args.data_parallel)
    return 0
