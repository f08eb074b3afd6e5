"""The built-in end-to-end demo on a small model and the synthetic world: forecast an
ensemble with the small GenCast this project trained and ships (mindgencast/pretrained:
gencast_tiny_wide, 10 deg), or with --train the same architecture trained here from
scratch, to CF NetCDF; score it against the truth, the exact oracle ensemble and
persistence; draw maps and a scorecard.

Writes into --out: truth.nc, stats/, forecast.nc, oracle.nc, scores_vs_oracle.nc,
scores_vs_persistence.nc and plots/ (with --train also store.h5 and the training run
checkpoint/). With --graphcast it also trains
the tiny GraphCast on the same (then 6-hourly) world and writes graphcast_run/,
forecast_graphcast.nc, scores_gencast_vs_graphcast.nc, gencast_vs_graphcast.csv and
plots/gencast_vs_graphcast.png: GenCast's ensemble CRPS vs GraphCast's MAE and the
ensemble-mean RMSE vs GraphCast's RMSE on the same held-out forecast."""

from __future__ import annotations

NAME = "demo"
HELP = "run the end-to-end demo (synthetic world, train, forecast, evaluate)"


def add_arguments(parser):
    parser.add_argument("--out", default="mindgencast_demo", help="new output directory (default mindgencast_demo)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: seconds instead of minutes")
    parser.add_argument("--train", action="store_true",
                        help="train the shipped architecture from scratch (300 steps) instead of using the shipped checkpoint")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="training steps with --train (default: 300; 10 with --quick)")
    parser.add_argument("--seed", type=int, default=0,
                        help="synthetic world and sampling seed; other than 0 needs --train (default: 0)")
    parser.add_argument("--graphcast", action="store_true",
                        help="also train the tiny GraphCast on the same world and compare it with GenCast")
    parser.add_argument("--graphcast-train-steps", type=int, default=None,
                        help="GraphCast's training steps (default: as many as GenCast's)")


def run(args) -> int:
    import dataclasses

    from mindgencast.demo import DemoConfig, run_demo

    config = DemoConfig.quick() if args.quick else DemoConfig()
    changes = {"seed": args.seed}
    if args.train_steps is not None:
        changes["train_steps"] = args.train_steps
    if args.train:
        changes["train"] = True
    if args.graphcast:
        changes["graphcast"] = True
    if args.graphcast_train_steps is not None:
        changes["graphcast_train_steps"] = args.graphcast_train_steps
    run_demo(args.out, dataclasses.replace(config, **changes))
    return 0
