"""GenCast in MindSpore Earth's application style:

    python main.py --config_file_path configs/mindearth/gencast_tiny.yaml --device_target CPU --mode train
    python main.py --config_file_path configs/mindearth/gencast_tiny.yaml --device_target CPU --mode test

Parses the arguments, sets the MindSpore context and calls the library
(:mod:`mindgencast.experiment`); the YAML's sections (model, data, optimizer, summary, train)
are described in :mod:`mindgencast.config.mindearth_yaml`. Data parallel on several devices:
set ``train.distribute: true`` and start this script with ``msrun``.
"""

import argparse
import sys


def get_args(argv=None):
    parser = argparse.ArgumentParser(description="GenCast (MindSpore) in MindSpore Earth's application style")
    parser.add_argument(
        "--config_file_path", required=True, help="experiment YAML, e.g. configs/mindearth/gencast_tiny.yaml"
    )
    parser.add_argument("--device_target", "-d", choices=["Ascend", "GPU", "CPU"], default="Ascend")
    parser.add_argument("--device_id", type=int, default=0, help="device index (ignored on CPU and under msrun)")
    parser.add_argument("--mode", "--run_mode", dest="mode", choices=["train", "test"], default="train")
    parser.add_argument(
        "--graph_mode", choices=["GRAPH", "PYNATIVE"], default="GRAPH", help="MindSpore execution mode (default GRAPH)"
    )
    parser.add_argument("--output_dir", default=None, help="overrides summary.summary_dir")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = get_args(argv)
    from mindgencast.config.mindearth_yaml import load_app_config

    app = load_app_config(args.config_file_path, summary_dir=args.output_dir)  # strict: fails before any work

    import mindspore as ms

    from mindgencast.experiment import run_test, run_train

    ms.set_context(mode=ms.GRAPH_MODE if args.graph_mode == "GRAPH" else ms.PYNATIVE_MODE)
    if app.train.distribute:  # msrun assigns the devices
        ms.set_device(args.device_target)
    else:
        ms.set_device(args.device_target, args.device_id)
    if args.mode == "train":
        run_train(app)
    else:
        run_test(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
