"""msrun entry point: `msrun --worker_num=2 --local_worker_num=2 --master_addr=127.0.0.1 \
--master_port=8118 --join=True scripts/train.py --store S --stats D --out O --data-parallel`."""

import sys

from mindgencast.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
