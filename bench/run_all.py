"""Run every benchmark in turn (each prints its figures and writes bench/results/*.json).

python -m bench.run_all
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "throughput_vs_original",
    "turn_profile",
    "chat_throughput",
    "history_scaling",
    "memory_recall",
    "search_scaling",
    "stream_latency",
    "memory",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"== bench.{name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
