"""Plot an ensemble forecast file: maps of the ensemble mean, spread and a few members at one
lead time (--lead), and/or a plume of all members at one point over every lead time (--point).
With --truth, the maps add the truth (same colour scale as the mean and members) and
difference maps (mean - truth, member - truth); the plume starts at the initial time from
the truth and draws the truth over the members.

Writes into --out: <var>[_<level>hPa]_lead<HHH>h_maps.png and
<var>[_<level>hPa]_plume_<lat>_<lon>.png, and prints their paths.

Example: mindgencast plot forecast.nc --var temperature --level 850 --lead 72h --point 48.8,2.3 \
    --truth era5.nc --out plots/
"""

from __future__ import annotations

NAME = "plot"
HELP = "maps (ensemble mean, spread, members) and point plumes of a forecast file"


def add_arguments(parser) -> None:
    parser.add_argument("forecast", help="forecast NetCDF written by `mindgencast forecast`")
    parser.add_argument("--var", required=True, help="variable name, e.g. 2m_temperature")
    parser.add_argument("--level", type=int, default=None, help="pressure level in hPa (atmospheric variables)")
    parser.add_argument("--lead", default=None, help="lead time of the maps, e.g. 72h or 3d")
    parser.add_argument("--members", type=int, default=4, help="member maps to draw (0 for none)")
    parser.add_argument("--point", default=None, metavar="LAT,LON",
                        help="plume of all members at the grid point nearest LAT,LON (degrees; "
                        "a negative latitude needs '=': --point=-33.9,151.2)")
    parser.add_argument("--truth", nargs="+", metavar="PATH",
                        help="truth in WeatherBench2 layout (one or more files, read lazily as one series) to "
                             "draw beside the forecast")
    parser.add_argument("--out", default=".", help="output directory (created if missing)")


def run(args) -> int:
    if args.lead is None and args.point is None:
        raise ValueError("nothing to plot: give --lead for maps and/or --point LAT,LON for a plume")
    if args.members < 0:
        raise ValueError(f"--members must be >= 0, got {args.members}")
    point = _parse_point(args.point) if args.point is not None else None

    from mindgencast.forecast import plots

    ds = plots.load_forecast(args.forecast)
    truth = None
    try:
        if args.truth:
            from mindgencast.metrics.truth_files import open_series

            truth = open_series(args.truth, "truth")
            plots.check_truth(truth, ds, args.var, args.level, lead=args.lead, plume=point is not None)
        # Check every name, the lead and the point before drawing anything.
        plots.select_field(ds, args.var, args.level)
        if args.lead is not None:
            plots.check_lead(ds, args.lead)
        if point is not None:
            plots.check_point(ds, args.var, *point, level=args.level)
        written = []
        if args.lead is not None:
            written.append(plots.plot_maps(ds, args.var, args.lead, level=args.level,
                                           num_members=args.members, out_dir=args.out, truth=truth))
        if point is not None:
            written.append(plots.plot_plume(ds, args.var, *point, level=args.level, out_dir=args.out,
                                            truth=truth))
    finally:
        ds.close()
    for path in written:
        print(path)
    return 0


def _parse_point(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--point {text!r} is not LAT,LON in degrees, e.g. --point 48.8,2.3") from None
    return lat, lon
