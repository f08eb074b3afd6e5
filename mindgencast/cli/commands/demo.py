"""The built-in end-to-end demo on the tiny model and the synthetic world: generate data and
statistics, train, forecast an ensemble to CF NetCDF, score it against the truth, the exact
oracle ensemble and persistence, and draw maps and a scorecard.

Writes into --out: truth.nc, stats/, store.h5, checkpoint/, forecast.nc, oracle.nc,
scores_vs_oracle.nc, scores_vs_persistence.nc and plots/."""

from __future__ import annotations

NAME = "demo"
HELP = "run the end-to-end demo (synthetic world, train, forecast, evaluate)"


def add_arguments(parser):
    parser.add_argument("--out", default="mindgencast_demo", help="new output directory (default mindgencast_demo)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds instead of minutes")
    parser.add_argument("--train-steps", type=int, default=None, help="override the number of training steps")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    import dataclasses

    from mindgencast.demo import DemoConfig, run_demo

    config = DemoConfig.quick() if args.quick else DemoConfig()
    changes = {"seed": args.seed}
    if args.train_steps is not None:
        changes["train_steps"] = args.train_steps
    run_demo(args.out, dataclasses.replace(config, **changes))
    return 0
