"""What the benchmarks share: a simulator in its own process, projects, sources, tables and results.

The simulator always runs as a separate `oaib-tui sim` process on 127.0.0.1,
so that its CPU time never counts as the client's and its event loop never
competes with the client's. Every wait here is bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
HOST = "127.0.0.1"
SIM_START_TIMEOUT_S = 20.0
SIM_STOP_TIMEOUT_S = 5.0

sys.path.insert(0, str(ROOT))

# Exact token counts need tiktoken's encodings, which cannot be downloaded here: use the shared
# copy the tests use, when there is one (subprocesses inherit the variable).
_SHARED_TIKTOKEN = ROOT.parent / "shared" / "tiktoken"
if not os.environ.get("TIKTOKEN_CACHE_DIR") and _SHARED_TIKTOKEN.is_dir():
    os.environ["TIKTOKEN_CACHE_DIR"] = str(_SHARED_TIKTOKEN)
os.environ.pop("OPENAI_BASE_URL", None)
# The simulator is on loopback: never through a proxy set for downloads (subprocesses inherit this).
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), HOST, "localhost"]))

CATEGORIES = ("kitchen", "garden", "office", "outdoor", "toys", "bath", "lighting", "pets")
ADJECTIVES = ("compact", "folding", "stainless", "bamboo", "cordless", "insulated", "waterproof", "handmade")
NOUNS = ("kettle", "lamp", "planter", "backpack", "desk tidy", "water bottle", "bird feeder", "tea towel")
AUDIENCES = ("students", "gift shoppers", "campers", "home cooks", "parents", "gardeners")


# -- the simulator -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def oaib_command(*args: str) -> list[str]:
    """`oaib-tui ARGS` with this interpreter (the venv's), wherever the script is started from."""
    return [sys.executable, "-m", "oaib_tui.cli", *args]


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


class Simulator:
    """A running `oaib-tui sim` process; `base_url` ends in /v1."""

    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.port = port
        self.base_url = f"http://{HOST}:{port}/v1"

    def stats(self) -> dict[str, Any]:
        """`GET /sim/stats`: what the simulator has received, admitted and refused."""
        return get_json(f"http://{HOST}:{self.port}/sim/stats")

    def received(self) -> int:
        return int(self.stats()["received"])

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + SIM_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited with code {self.process.returncode}")
            try:
                get_json(f"{self.base_url}/models", timeout=1.0)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the simulator did not answer GET /v1/models within {SIM_START_TIMEOUT_S:g}s")


@contextmanager
def simulator(**settings: Any) -> Iterator[Simulator]:
    """Start `oaib-tui sim --port P --rpm ... ` on a free loopback port; stop it when the block ends."""
    port = free_port()
    args = ["sim", "--host", HOST, "--port", str(port)]
    for name, value in settings.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    process = subprocess.Popen(oaib_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sim = Simulator(process, port)
    try:
        sim.wait_until_up()
        yield sim
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Ask a child we started to end; kill it if it does not within a few seconds."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(SIM_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(SIM_STOP_TIMEOUT_S)


# -- projects and sources ------------------------------------------------------------------

def product_record(n: int, rng: random.Random) -> dict[str, Any]:
    """A short, realistic product record (about 130 bytes of JSON)."""
    return {
        "sku": f"SKU-{n:07d}",
        "title": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
        "category": rng.choice(CATEGORIES),
        "price": round(rng.uniform(3, 120), 2),
        "audience": rng.choice(AUDIENCES),
    }


def write_products(path: Path, count: int, *, first: int = 0, seed: int = 7, append: bool = False) -> Path:
    """A JSONL source of `count` product records numbered from `first`."""
    rng = random.Random(seed + first)
    with open(path, "a" if append else "w", encoding="utf-8") as out:
        chunk: list[str] = []
        for n in range(first, first + count):
            chunk.append(json.dumps(product_record(n, rng)))
            if len(chunk) == 10_000:
                out.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            out.write("\n".join(chunk) + "\n")
    return path


PRODUCT_REQUEST = {
    "max_tokens": 20,
    "messages": [{"role": "user", "content": "One line for the {title} ({category}), for {audience}."}],
}


def write_project(folder: Path, *, base_url: str | None = None, source: str = "products.jsonl",
                  name: str = "bench", **overrides: Any) -> Path:
    """A chat project over a JSONL product source, against a loopback simulator; top-level keys override."""
    spec: dict[str, Any] = {
        "name": name,
        "model": "gpt-4o-mini",
        "mode": "auto",
        "provider": {"kind": "simulator", "base_url": base_url or "http://127.0.0.1:9/v1"},
        "limits": {"concurrency": 50, "timeout_s": 30},
        "sources": [{"path": source, "id": "{sku}"}],
        "request": PRODUCT_REQUEST,
        "output": {"keep": ["sku"]},
    }
    spec.update(overrides)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


# -- processes -----------------------------------------------------------------------------

def rss_kib(pid: int) -> tuple[int, int] | None:
    """(current RSS, peak RSS) of a live process in KiB, from /proc; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (KeyError, ValueError):
        return None


def reap(process: subprocess.Popen) -> tuple[int, Any] | None:
    """(exit code, this child's own resource usage) if it has ended, else None. Never blocks.

    os.wait4 gives this child's figures alone, where RUSAGE_CHILDREN would mix in every child
    waited for so far (the simulator included). Popen.poll() must not be called on such a
    child: it would reap it first and the figures would be lost. Its ru_maxrss starts from
    this process's own peak at exec (Linux keeps it across exec): a benchmark must stay
    smaller than what it measures (bench_resume builds its big state file in a child).
    """
    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    if not pid:
        return None
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


def wait_with_rusage(process: subprocess.Popen, timeout: float) -> tuple[int, Any]:
    """Wait for one child (killing it after `timeout` s): its exit code and its own resource usage."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = reap(process)
        if ended:
            return ended
        time.sleep(0.02)
    process.kill()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


# -- reporting -----------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    """The machine the figures come from."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        memory_kib = 0
    return {
        "cpus": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 1024**2, 1),
        "python": platform.python_version(), "os": platform.platform(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("oaib-tui", "openai", "aiohttp", "httpx2", "uvicorn"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def save_results(name: str, figures: dict[str, Any]) -> Path:
    """Write `bench/results/<name>.json`, dated, with the machine and versions it ran on."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "versions": versions(),
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
        **figures,
    }
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A plain text table: numbers right-aligned, text left-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))

    if title:
        print(f"\n{title}")
    print(line(list(headers)))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
