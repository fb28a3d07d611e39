"""Train ensemble members side by side in fresh interpreter processes (one torch thread each).

``python -m ml.models.workers JOB RESULT`` reads a pickled job written by the parent and writes the
member's state_dict back. Fresh interpreters (not fork, not multiprocessing's spawn) keep this safe
from OpenMP-after-fork hangs and independent of how the parent's ``__main__`` is written.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def run_jobs(payloads: list[dict[str, Any]], workers: int, on_done: Callable[[int], None]) -> list[Any]:
    """Run every payload through :func:`_work` in at most ``workers`` processes; results in order."""
    import torch

    results: list[Any] = [None] * len(payloads)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="mammoth-members-") as tmp:
        folder = Path(tmp)
        for i, payload in enumerate(payloads):
            (folder / f"job{i}.pkl").write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        pending, running, done = list(range(len(payloads))), {}, 0
        try:
            while pending or running:
                while pending and len(running) < workers:
                    i = pending.pop(0)
                    log = open(folder / f"job{i}.log", "wb")
                    command = [sys.executable, "-m", "ml.models.workers", str(folder / f"job{i}.pkl"), str(folder / f"out{i}.pt")]
                    running[i] = (subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), log)
                time.sleep(0.05)
                for i, (process, log) in list(running.items()):
                    if process.poll() is None:
                        continue
                    log.close()
                    del running[i]
                    if process.returncode != 0:
                        tail = (folder / f"job{i}.log").read_text(errors="replace")[-2000:]
                        raise RuntimeError(f"ensemble member {i} failed (exit {process.returncode}):\n{tail}")
                    results[i] = torch.load(folder / f"out{i}.pt", map_location="cpu", weights_only=True)
                    done += 1
                    on_done(done)
        finally:
            for process, log in running.values():
                process.kill()
                process.wait()
                log.close()
    return results


def _work(job_path: str, out_path: str) -> None:
    import torch

    from ml.features import FeatureSpec
    from ml.registry import backbone_class

    payload = pickle.loads(Path(job_path).read_bytes())
    model = backbone_class(payload["backbone"])(FeatureSpec.from_dict(payload["spec"]), **payload["params"])
    net, info = model._train_member(*payload["job"], threads=payload["threads"])
    torch.save({"state": net.state_dict(), "info": info}, out_path)


if __name__ == "__main__":
    _work(sys.argv[1], sys.argv[2])
