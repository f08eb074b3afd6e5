#!/usr/bin/env bash
# Data-parallel GenCast training on an Ascend cluster: N nodes x 8 NPUs, one msrun per node.
# Run this same command on every node, changing only NODE_RANK (0 on the master node):
#
#   MASTER_ADDR=10.0.0.1 MASTER_PORT=8118 NUM_NODES=4 NODE_RANK=0 \
#     scripts/launch_ascend_cluster.sh --config run.yaml --store era5.h5 --stats stats --out /shared/run1
#
# Every argument is passed to `mindgencast train` (add --resume to continue after a failure:
# the same command picks up the latest complete checkpoint). --batch-size is the GLOBAL batch:
# a multiple of NUM_NODES x NPUS_PER_NODE x grad_accumulation. RUN (--out), the store and the
# statistics must be on a filesystem every node sees; only rank 0 writes. See docs/training.md.
set -euo pipefail

: "${MASTER_ADDR:?set MASTER_ADDR to the address of the node with NODE_RANK=0}"
: "${NODE_RANK:?set NODE_RANK (0 .. NUM_NODES-1) for this node}"
MASTER_PORT="${MASTER_PORT:-8118}"
NUM_NODES="${NUM_NODES:-1}"
NPUS_PER_NODE="${NPUS_PER_NODE:-8}"
LOG_DIR="${LOG_DIR:-msrun_logs/node_${NODE_RANK}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# PRECISION=bfloat16 (Ascend's mixed precision) is passed as --precision when set
EXTRA=()
if [[ -n "${PRECISION:-}" ]]; then EXTRA=(--precision "${PRECISION}"); fi

exec msrun \
  --worker_num=$((NUM_NODES * NPUS_PER_NODE)) \
  --local_worker_num="${NPUS_PER_NODE}" \
  --master_addr="${MASTER_ADDR}" \
  --master_port="${MASTER_PORT}" \
  --node_rank="${NODE_RANK}" \
  --log_dir="${LOG_DIR}" \
  --join=True \
  "${HERE}/train.py" --data-parallel "${EXTRA[@]}" "$@"
