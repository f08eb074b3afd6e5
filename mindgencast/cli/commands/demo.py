"""The built-in end-to-end demo on the tiny model and the synthetic world: generate data and
statistics, train, forecast an ensemble to CF NetCDF, score it against the truth, the exact
oracle ensemble and persistence, and draw maps and a scorecard.

Writes into --out: truth.nc, stats/, store.h5, checkpoint/, forecast.nc, oracle.nc,
scores_vs_oracle.nc, scores_vs_persistence.nc and plots/. With --graphcast it also trains
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
    parser.add_argument("--train-steps", type=int, default=None, help="override the number of training steps")
    parser.add_argument("--seed", type=int, default=0)
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
    if args.graphcast:
        changes["graphcast"] = True
    if args.graphcast_train_steps is not None:
        changes["graphcast_train_steps"] = args.graphcast_train_steps
    run_demo(args.out, dataclasses.replace(config, **changes))
    return 0
