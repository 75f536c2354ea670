"""Issue 14's scale-out benchmark: the same crawl with 1, 2 and 4 scraper processes.

    .venv/bin/python bench/scale_bench.py [--pages 2000] [--processes 1,2,4] [--site typical]

Each step crawls the same generated site with the full pipeline (enrichment off) as
`make bench` does (bench/crawl_bench.py: its own database, Redis database and queues, real
prefork workers), with the scraper pool at that many processes and the writer at 2. On a
2-core machine pages/s cannot grow with processes; what scale-out needs, and what this
prints, is that the cost of a page stays put as processes are added: CPU ms per page over
every process involved, and Redis commands, SQS, S3 and DynamoDB requests, and PostgreSQL
commits and rows per page. A cost that grew with the number of processes (contention,
per-process polling, duplicated work) would show here as a ratio above 1.

Redis commands come from INFO commandstats, PostgreSQL's from pg_stat_database, and SQS,
S3 and DynamoDB requests from the request lines the emulators log: run it alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "bench"))

from crawl_bench import (  # noqa: E402
    BENCH_ENV,
    RUNS_DIR,
    Phase,
    Started,
    log,
    prepare_isidorus,
    run_checked,
    run_isidorus,
    wipe_bench_state,
)
from synthetic_site import PROFILES, SiteServer, build_site  # noqa: E402

SCRAPER_GROUP = "scraper worker (+pool)"


def crawl_options(args: argparse.Namespace, processes: int) -> argparse.Namespace:
    """crawl_bench's options for one step: its defaults, the scraper pool at `processes`."""
    return argparse.Namespace(
        pages=args.pages,
        batch_size=64,
        scraper_concurrency=processes,
        writer_concurrency=2,
        fetch_threads=16,
        host_concurrency=16,
        timeout=args.timeout,
        profile=None,
    )


def per_page(phase: Phase) -> dict[str, float]:
    pages = max(phase.pages, 1)
    costs = {
        "CPU ms, every process": 1000 * sum(phase.cpu.values()) / pages,
        "CPU ms, scraper workers": 1000 * phase.cpu.get(SCRAPER_GROUP, 0.0) / pages,
    }
    costs.update({f"{name} calls": calls / pages for name, calls in phase.calls.items()})
    return costs


def print_steps(steps: list[tuple[int, Phase]]) -> None:
    width = 30
    print(f"\n{'scraper processes':{width}}" + "".join(f"{n:>12}" for n, _ in steps))
    print(f"{'pages fetched':{width}}" + "".join(f"{p.pages:>12}" for _, p in steps))
    print(f"{'pages/s':{width}}" + "".join(f"{p.rate:>12.1f}" for _, p in steps))
    rows = {name: [per_page(phase)[name] for _, phase in steps] for name in per_page(steps[0][1])}
    print("per fetched page:")
    for name, values in rows.items():
        print(f"  {name:{width - 2}}" + "".join(f"{value:>12.2f}" for value in values))
    print(f"ratio to {steps[0][0]} process(es) (1.00 = constant):")
    for name, values in [("pages/s", [p.rate for _, p in steps]), *rows.items()]:
        base = values[0] or 1.0
        print(f"  {name:{width - 2}}" + "".join(f"{value / base:>12.2f}" for value in values))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--site", choices=PROFILES, default="typical")
    parser.add_argument("--processes", default="1,2,4", help="scraper pool sizes, in order")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for a job")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",") if n]

    run_dir = RUNS_DIR / f"scale-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir.mkdir(parents=True, exist_ok=True)
    started = Started()
    steps: list[tuple[int, Phase]] = []
    try:
        run_checked([sys.executable, "-m", "scripts.launcher", "stack", "up"], dict(os.environ))
        prepare_isidorus({**os.environ, **BENCH_ENV})
        site = build_site(args.pages, args.seed, args.site)
        depth = max(site.max_depth + 1, 3)
        server = SiteServer(site, 2).start()
        started.servers.append(server)
        for processes in counts:
            step_dir = run_dir / f"scrapers-{processes}"
            step_dir.mkdir()
            wipe_bench_state()
            log(f"step: {processes} scraper process(es)")
            options: Any = crawl_options(args, processes)
            steps.append((processes, run_isidorus(options, server, started, step_dir, depth)))
    finally:
        started.stop_all()
    for processes, phase in steps:
        print(f"\n{processes} scraper process(es):")
        for note in phase.notes:
            print(f"  {note}")
    print(f"\nsite: {args.site}, {args.pages} pages, seed {args.seed}; {os.cpu_count()} cores")
    print_steps(steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
