"""Forecast from an initial state: rolls GenCast (ensemble, 12-h steps) or GraphCast
(deterministic, one member, 6-h steps) out autoregressively and writes a CF-1.8 NetCDF
(dims member, lead_time, [level,] lat, lon). The checkpoint says which model it holds."""

from __future__ import annotations

NAME = "forecast"
HELP = "run a GenCast ensemble or GraphCast forecast to CF NetCDF"


def add_arguments(parser):
    parser.add_argument("--checkpoint", required=True,
                        help="official GenCast/GraphCast .npz, converted checkpoint directory, or a training RUN "
                             "(its latest, EMA weights)")
    parser.add_argument("--stats", required=True,
                        help="directory with mean/stddev/diffs_stddev(/min_by_level: GenCast) _by_level .nc")
    parser.add_argument("--init", required=True,
                        help="ERA5 NetCDF: plain WeatherBench2 layout or DeepMind's example-batch layout")
    parser.add_argument("--init-time", default=None, help="latest input frame, e.g. 2019-03-29T12 (default: last)")
    parser.add_argument("--steps", type=int, default=30,
                        help="model steps: 12 h GenCast, 6 h GraphCast (default 30)")
    parser.add_argument("--members", type=int, default=None,
                        help="ensemble members (GenCast, default 8; GraphCast makes 1)")
    parser.add_argument("--members-per-batch", type=int, default=None,
                        help="members sampled together (memory budget; default: all)")
    parser.add_argument("--seed", type=int, default=0)
    from mindgencast.diffusion.samplers.base import SAMPLERS

    parser.add_argument("--sampler", default="dpmpp2s", choices=list(SAMPLERS),
                        help="dpmpp2s (GenCast's), heun, euler, edm_sde, euler_maruyama, ddpm (ancestral), "
                             "pc (predictor-corrector); see docs/equations.md")
    parser.add_argument("--sampler-param", action="append", default=[], metavar="NAME=VALUE",
                        help="extra sampler parameter, repeatable: pc: snr=0.16, n_corrector_steps=1; "
                             "ddpm: variance=posterior|beta")
    parser.add_argument("--sampler-steps", type=int, default=None, help="override the sampler's noise levels")
    parser.add_argument("--compute-dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--mode", default="graph", choices=["graph", "pynative"],
                        help="MindSpore execution mode: graph (default; Ascend) or pynative (op by op: far less "
                             "memory on the CPU backend, see docs/performance.md)")
    parser.add_argument("--ensemble-stats", action="store_true", help="also write ensemble mean and spread")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted forecast")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", default="forecast.nc")


def run(args) -> int:
    import os

    import mindspore as ms

    from mindgencast.diffusion.samplers.base import check_sampler_params
    from mindgencast.forecast.distributed import msrun_workers
    from mindgencast.forecast.forecast_job import ForecastJob

    sampler_params = check_sampler_params(args.sampler, _parse_sampler_params(args.sampler_param))  # fail fast
    ms.set_context(mode=ms.GRAPH_MODE if args.mode == "graph" else ms.PYNATIVE_MODE)
    workers = msrun_workers()  # under msrun: members spread over the workers, rank 0 writes --out
    job = ForecastJob.prepare(checkpoint=args.checkpoint, stats=args.stats, init=args.init,
                              init_time=args.init_time, compute_dtype=args.compute_dtype)
    path = job.run(out=args.out, steps=args.steps, members=args.members, members_per_batch=args.members_per_batch,
                   seed=args.seed, sampler=args.sampler, sampler_steps=args.sampler_steps,
                   sampler_params=sampler_params,
                   ensemble_stats=args.ensemble_stats, resume=args.resume, progress=not args.no_progress,
                   overwrite=args.overwrite, workers=workers)
    if workers is None or workers.rank == 0:
        print(f"wrote {os.fspath(path)}")
    return 0


def _parse_sampler_params(items):
    """['snr=0.2', 'n_corrector_steps=2'] -> {'snr': 0.2, 'n_corrector_steps': 2} (int, float or text)."""
    params = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--sampler-param takes NAME=VALUE (e.g. snr=0.16), got {item!r}")
        for convert in (int, float, str):
            try:
                params[name] = convert(text)
                break
            except ValueError:
                continue
    return params
