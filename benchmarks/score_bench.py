"""Batched LSTM scoring vs a per-customer loop, on synthetic customers (prints measured figures).

    .venv/bin/python benchmarks/score_bench.py [--customers 100000] [--max-events 64] [--members 1]

The model is trained for one quick epoch on a few thousand synthetic customers (its quality does
not matter for speed; its architecture is the production default). "batched" is the production
path `ml.scoring.score_cases`: vectorised feature encoding of all events (aggregates at each
customer's last event only), then length-sorted right-padded batches under torch.inference_mode (the
fused unpacked LSTM kernel, each row read at its last real event). "model only" leaves out the encoding. The loop scores a random sample of
customers one call each (same code, a batch of one) and is extrapolated to customers/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--max-events", type=int, default=64)
    parser.add_argument("--loop-sample", type=int, default=2_000)
    parser.add_argument("--reason-sample", type=int, default=2_000, help="customers explained (<= loop sample)")
    parser.add_argument("--members", type=int, default=1, help="ensemble members of the LSTM")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--params", default="{}", help="JSON of extra LSTM parameters")
    args = parser.parse_args()

    import numpy as np
    import torch

    from ml.scoring import length_sorted_chunks, score_cases
    from ml.synthetic import make_log
    from ml.train import train_model

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    log, labels = make_log(args.customers, max_events=args.max_events, seed=0)
    n_events = log.n_events
    print(f"synthetic log: {len(log):,} customers, {n_events:,} events "
          f"(1..{args.max_events} each, mean {n_events / len(log):.1f}), built in {time.perf_counter() - t0:.1f} s")

    train_ids = set(log.case_ids[:3000])
    model, _ = train_model(log.select(train_ids), labels, "lstm", seed=0,
                           params={"members": args.members, "epochs": 1, "threads": args.threads, **json.loads(args.params)})
    p = model.params
    print(f"model: lstm hidden={p['hidden']} layers={p['layers']} members={p['members']} "
          f"(+ aggregated prefix features), torch {torch.__version__}, {args.threads} threads, "
          f"{os.cpu_count()} CPUs")

    # warm-up (allocator, oneDNN kernels)
    score_cases(model, log.cases[:5000])

    lengths = np.fromiter((len(c) for c in log.cases), np.int64, count=len(log))
    chunks = [[log.cases[i] for i in index] for index in length_sorted_chunks(lengths)]
    t0 = time.perf_counter()
    encoded = [model.spec.encode(chunk, last_only=True) for chunk in chunks]
    t_encode = time.perf_counter() - t0
    t0 = time.perf_counter()
    for part in encoded:
        model.score_last(part, batch_size=args.batch_size)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = score_cases(model, log.cases)
    t_batched = time.perf_counter() - t0

    rng = np.random.default_rng(1)
    sample = [log.cases[i] for i in rng.choice(len(log), size=min(args.loop_sample, len(log)), replace=False)]
    t0 = time.perf_counter()
    looped = np.array([score_cases(model, [case])[0] for case in sample])
    t_loop = time.perf_counter() - t0

    index = {c.case_id: i for i, c in enumerate(log.cases)}
    max_diff = float(np.abs(looped - batched[[index[c.case_id] for c in sample]]).max())
    batched_rate = len(log) / t_batched
    loop_rate = len(sample) / t_loop
    print(f"batched (encode + score): {batched_rate:>10,.0f} customers/s  ({t_batched:.2f} s for {len(log):,})")
    print(f"  model only            : {len(log) / t_model:>10,.0f} customers/s  ({t_model:.2f} s)")
    print(f"  feature encoding only : {len(log) / t_encode:>10,.0f} customers/s  ({t_encode:.2f} s, "
          f"{t_encode / n_events * 1e6:.2f} µs per event)")
    print(f"per-customer loop       : {loop_rate:>10,.0f} customers/s  ({t_loop:.2f} s for a sample of {len(sample):,})")
    print(f"ratio batched / loop    : {batched_rate / loop_rate:,.1f}x")
    print(f"max |batched - loop| on the sample: {max_diff:.2e}")

    # the product's nightly pass also writes three leave-one-out reasons per customer
    from ml.scoring import explain_case, explain_cases

    reason_sample = sample[: args.reason_sample]
    t0 = time.perf_counter()
    together = explain_cases(model, reason_sample)
    t_together = time.perf_counter() - t0
    few = reason_sample[: max(1, len(reason_sample) // 10)]
    t0 = time.perf_counter()
    one_by_one = [explain_case(model, case) for case in few]
    t_one = time.perf_counter() - t0
    same = all([r.index for r in a[1]] == [r.index for r in b[1]] for a, b in zip(together, one_by_one))
    print(f"with reasons, batched   : {len(reason_sample) / t_together:>10,.0f} customers/s  "
          f"({t_together:.2f} s for {len(reason_sample):,}; each customer rescored once per event left out)")
    print(f"with reasons, one by one: {len(few) / t_one:>10,.0f} customers/s  ({t_one:.2f} s for {len(few):,})")
    print(f"ratio                   : {(len(reason_sample) / t_together) / (len(few) / t_one):,.1f}x; "
          f"same top reasons on the common customers: {same}")


if __name__ == "__main__":
    main()
