"""A fleet apply against a rate-limited sandbox (issue 22, DESIGN §8): the goal is a run that
converges in one go, with at most one 429 per 1,000 requests, in at most 1.15× the time the
limit allows (requests ÷ rate).

    python bench/rate_limited.py [--clinics 50] [--rate 20] [--runs 3]

Each run: a fresh agency on `wscfg sandbox serve --rate-limit RATE:RATE --access-log`, then
`wscfg apply --auto-approve --create-missing` of CLINICS clinics (examples/agency style) in a
process of its own, then `wscfg plan --detailed-exitcode` (0: converged). Requests and 429s
are counted from the access log; the time from the first request to the last is read from
when each access-log line arrived. Reported per run and as medians:
- wall: the apply process from start to exit (Python start-up and config loading included);
- span: first request to last request, the time the limit governs;
- floor: requests ÷ rate; the ratios span / floor and wall / floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DROP, cpu_model

from wscfg.sandbox import admin
from wscfg.sandbox.db import dispose

ROOT = Path(__file__).resolve().parents[1]


def clinics(folder: Path, n: int, prefix: str) -> None:
    shutil.copy(ROOT / "examples" / "agency" / "base.yaml", folder / "base.yaml")
    for i in range(n):
        slug = f"{prefix}-{i:03d}"
        (folder / f"{slug}.yaml").write_text(
            "version: 1\nextends: base.yaml\n"
            f"vars: {{clinic: Clinic {i}, city: Town {i}, timezone: America/Chicago, "
            f"manager: manager{i}@smilegroup.example}}\n"
            f"workspace: {{slug: {slug}}}\n"
        )


class Tail:
    """The server's stderr, each line stamped with when it arrived."""

    def __init__(self, stream) -> None:
        self.lines: list[tuple[float, str]] = []
        self.url = ""
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for raw in stream:
            line = raw.rstrip("\n")
            if "serving http://" in line:
                self.url = line.split("serving ", 1)[1].split("/v1", 1)[0]
                self.ready.set()
            self.lines.append((time.monotonic(), line))


def one_run(clinic_count: int, rate: int, tmp: Path, index: int) -> dict[str, float]:
    db = tmp / f"run{index}.db"
    db_url = f"sqlite:///{db}"
    key = admin.create_agency(db_url, f"agency-{index}")
    dispose(db_url)
    folder = tmp / f"fleet{index}"
    folder.mkdir()
    clinics(folder, clinic_count, f"clinic{index}")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wscfg",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--db",
            db_url,
            "--rate-limit",
            f"{rate}:{rate}",
            "--access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    tail = Tail(server.stderr)
    try:
        if not tail.ready.wait(60):
            raise SystemExit("the sandbox did not start")
        time.sleep(1.5)  # the bucket is full at the start, as for any fresh key
        env = {k: v for k, v in os.environ.items() if k not in DROP and not k.startswith("WSCFG_")}
        env.update(WSCFG_SERVER=tail.url, WSCFG_TOKEN=key, SMILE_WEBHOOK_SECRET="bench-secret")
        before = len(tail.lines)
        started = time.monotonic()
        apply = subprocess.run(
            [sys.executable, "-m", "wscfg", "apply", "--auto-approve", "--create-missing", "."],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - started
        time.sleep(0.5)  # the last lines reach the pipe
        seen = [
            (t, line)
            for t, line in tail.lines[before:]
            if line.startswith(("GET ", "POST ", "PATCH ", "DELETE "))
        ]
        check = subprocess.run(
            [sys.executable, "-m", "wscfg", "plan", "--detailed-exitcode", "."],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        server.terminate()
        server.wait(30)
    requests = len(seen)
    refused = sum(1 for _t, line in seen if line.split(" ")[2] == "429")
    span = seen[-1][0] - seen[0][0] if seen else 0.0
    floor = requests / rate
    result = {
        "exit": apply.returncode,
        "converged": check.returncode == 0,
        "requests": requests,
        "429": refused,
        "wall": wall,
        "span": span,
        "floor": floor,
        "span/floor": span / floor if floor else 0.0,
        "wall/floor": wall / floor if floor else 0.0,
    }
    if apply.returncode != 0:
        print(apply.stdout[-2000:], apply.stderr[-2000:], file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=50)
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.clinics} clinics, sandbox --rate-limit {args.rate}:{args.rate}, {args.runs} runs")
    results = []
    with tempfile.TemporaryDirectory(prefix="wscfg-bench-rate-") as tmp:
        for i in range(args.runs):
            r = one_run(args.clinics, args.rate, Path(tmp), i)
            results.append(r)
            print(
                f"run {i + 1}: exit {r['exit']}, converged {r['converged']}, "
                f"{r['requests']} requests, {r['429']} x 429, wall {r['wall']:.1f} s, "
                f"span {r['span']:.1f} s, floor {r['floor']:.1f} s, "
                f"span/floor {r['span/floor']:.3f}, wall/floor {r['wall/floor']:.3f}"
            )
    med = {
        k: statistics.median(float(r[k]) for r in results)
        for k in ("span/floor", "wall/floor", "429", "requests")
    }
    total = sum(r["requests"] for r in results)
    refused = sum(r["429"] for r in results)
    print(
        f"median span/floor {med['span/floor']:.3f}, median wall/floor {med['wall/floor']:.3f}; "
        f"429s {refused} in {total} requests ({1000 * refused / max(total, 1):.2f} per 1,000); "
        f"all converged in one run: {all(r['exit'] == 0 and r['converged'] for r in results)}"
    )


if __name__ == "__main__":
    main()
