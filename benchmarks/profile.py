"""Profiles of ormer's side of a workload (pyinstrument), for finding hot paths.

``python -m benchmarks --profile W1,W2 -b postgresql`` runs each named workload
for ormer a few times under pyinstrument and writes a text profile to
``benchmarks/results/profile-<backend>-<workload>.txt`` (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

from .common import Sizes
from .runner import BackendRun


async def profile(backends: list[str], workloads: list[str], sizes: Sizes, out: Path) -> int:
    from pyinstrument import Profiler

    for backend in backends:
        run = BackendRun(backend, sizes, workloads, {"ormer"}, 1, 1, print)
        await run.open()
        try:
            impl = next(i for i in run.impls if i.key == "ormer")
            for w in workloads:
                await run.run_workload(w)  # warm-up and data set-up
                profiler = Profiler(interval=0.0002, async_mode="enabled")
                for _ in range(3):
                    await run._prepare(w, impl)
                    profiler.start()
                    await run._op(w, impl)
                    profiler.stop()
                path = out / f"profile-{backend}-{w}.txt"
                path.write_text(profiler.output_text(unicode=True, show_all=False))
                print(f"{backend} {w}: profile written to {path}")
        finally:
            await run.close()
    return 0
