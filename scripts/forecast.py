"""msrun entry point: `msrun --worker_num=2 --local_worker_num=2 --master_addr=127.0.0.1 \
--master_port=8118 --join=True scripts/forecast.py --checkpoint C --stats S --init I --members 8 --out O`
(rank r rolls out members r, r+N, ...; rank 0 writes O)."""

import sys

from mindgencast.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["forecast", *sys.argv[1:]]))
