"""Training runs of docs/training_study.md: `mindgencast train`'s loop plus an EMA of the weights.

The same data pipeline, noise-level sampling, loss and optimiser step as
``mindgencast.training.trainer.train``; additionally keeps an exponential moving average
of the parameters (``--ema-decay``, 0 = off) and writes both the raw weights (OUT/raw) and
the EMA weights (OUT/ema). ``--noise-rho`` etc. override the config's training noise-level
distribution.

usage: python scripts/train_study.py --config gencast_tiny --store S --stats ST --out OUT --steps N
"""

import argparse
import dataclasses
import json
import math
import os
import time

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn

from mindgencast.checkpoint import load_checkpoint, save_converted
from mindgencast.config import GridConfig
from mindgencast.data.normalization import NormalizationStats
from mindgencast.data.pipeline import TrainingExamples, training_dataset
from mindgencast.diffusion.schedules import training_noise_levels
from mindgencast.model import GenCast
from mindgencast.training.job import resolve_config
from mindgencast.training.train_step import DenoiserTrainStep
from mindgencast.training.trainer import TrainConfig, _noise, learning_rates


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="gencast_tiny")
    p.add_argument("--store", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--noise-rho", type=float)
    p.add_argument("--noise-min", type=float)
    p.add_argument("--noise-max", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--save-every", type=int, default=0, help="also write OUT/step_N/{raw,ema} every N steps")
    p.add_argument("--init-checkpoint", help="continue from these weights instead of a fresh model")
    a = p.parse_args()
    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = resolve_config(a.config)
    noise = cfg.noise_config
    for field, value in (
        ("training_noise_level_rho", a.noise_rho),
        ("training_min_noise_level", a.noise_min),
        ("training_max_noise_level", a.noise_max),
    ):
        if value is not None:
            noise = dataclasses.replace(noise, **{field: value})
    stats = NormalizationStats.load(a.stats)
    examples = TrainingExamples(a.store, stats)
    cfg = dataclasses.replace(cfg, noise_config=noise, grid=GridConfig(resolution=360.0 / examples.store.lon.size))
    ms.set_seed(a.seed)
    if a.init_checkpoint:
        ckpt = dataclasses.replace(load_checkpoint(a.init_checkpoint), noise_config=noise)
        model = GenCast(ckpt)
    else:
        model = GenCast(cfg)
    train = TrainConfig(
        steps=a.steps, batch_size=a.batch_size, learning_rate=a.lr, warmup_steps=a.warmup_steps, seed=a.seed
    )
    i0, t0, f0 = examples.normalized_example(0)
    loss_cell = model.loss_cell(i0.expand_dims(batch=1), t0.expand_dims(batch=1), f0.expand_dims(batch=1))
    params = loss_cell.trainable_params()
    rates = learning_rates(train)
    optimizer = nn.AdamWeightDecay(params, learning_rate=rates, weight_decay=train.weight_decay)
    step_cell = DenoiserTrainStep(loss_cell, optimizer, train.max_grad_norm)
    step_cell.set_train()
    dataset = training_dataset(examples.store, stats, batch_size=a.batch_size, shuffle=True, seed=a.seed)
    rng = np.random.default_rng([a.seed, 0])
    lat, lon = t0["lat"].values, t0["lon"].values
    ema = {q.name: q.asnumpy().astype(np.float64) for q in params}
    history, step, start = [], 0, time.time()
    while step < a.steps:
        for inputs, targets, forcings in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1):
            if step >= a.steps:
                break
            batch, channels = targets.shape[0], targets.shape[2]
            conditioning = np.concatenate([inputs, forcings], axis=-1).transpose(1, 0, 2)
            sigma = training_noise_levels(noise, rng.uniform(size=batch)).astype(np.float32)
            loss = step_cell(
                Tensor(np.ascontiguousarray(conditioning)),
                Tensor(np.ascontiguousarray(targets.transpose(1, 0, 2))),
                Tensor(_noise(rng, lat, lon, batch, channels)),
                Tensor(sigma),
            )
            value = float(loss.asnumpy())
            if not math.isfinite(value):
                raise FloatingPointError(f"loss {value} at step {step}")
            if a.ema_decay > 0:
                decay = min(a.ema_decay, (1 + step) / (10 + step))  # warm-up of the average
                for q in params:
                    ema[q.name] = decay * ema[q.name] + (1 - decay) * q.asnumpy()
            history.append({"step": step, "loss": value, "sigma": sigma.tolist(), "seconds": time.time() - start})
            if step % a.log_every == 0 or step == a.steps - 1:
                recent = np.mean([h["loss"] for h in history[-a.log_every :]])
                print(
                    f"step {step:5d}/{a.steps} loss {value:8.4f} (mean {recent:8.4f}) lr {rates[step]:.2e} "
                    f"{time.time() - start:7.1f}s",
                    flush=True,
                )
            step += 1
            if a.save_every and step % a.save_every == 0 and step < a.steps:
                _save(model, params, ema, a, os.path.join(a.out, f"step_{step}"), step)
    _save(model, params, ema, a, a.out, a.steps)
    with open(os.path.join(a.out, "history.json"), "w") as f:
        json.dump({"args": vars(a), "history": history}, f)


def _save(model, params, ema, a, out, step):
    """Writes OUT/raw and (with EMA) OUT/ema; the live weights are left unchanged."""
    os.makedirs(out, exist_ok=True)
    description = f"trained by scripts/train_study.py on {os.path.basename(a.store)} ({step} steps)"
    save_converted(model.to_checkpoint(description=description + ", raw weights"), os.path.join(out, "raw"))
    if a.ema_decay > 0:
        live = {q.name: q.asnumpy() for q in params}
        for q in params:
            q.set_data(Tensor(ema[q.name].astype(np.float32)))
        save_converted(model.to_checkpoint(description=description + f", EMA {a.ema_decay}"), os.path.join(out, "ema"))
        for q in params:
            q.set_data(Tensor(live[q.name]))


if __name__ == "__main__":
    main()
