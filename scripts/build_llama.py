"""Compile and install the llama.cpp server (llama-cpp-python), saying what happens while it does.

    python scripts/build_llama.py [--constraints FILE]

The compile is the longest step of the setup (~7 min on 2 cores, once), and pip prints nothing
while it runs. So this script announces it, runs pip verbosely with the full log going to
`.course/logs/llama-build.log`, and turns the build tool's own step counters (`[12/140]` from
ninja, `[ 12%]` from make) into one progress line per tenth of the build. On failure it shows
the end of the log and what most often fixes it (a missing C/C++ compiler).

Flags (see requirements/llm.txt): `-DGGML_NATIVE=OFF` for a portable build, `--no-cache-dir`
because pip's wheel cache ignores CMAKE_ARGS and would hand back a native build. The install is
constrained by the lock (or by the constraints file given), so the server's dependencies never
move a pinned package.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from utils.paths import runtime_path, shown  # noqa: E402

LLM_REQUIREMENTS = ROOT / "requirements" / "llm.txt"
LOCK = ROOT / "requirements" / "lock.txt"
EXPECTED_MINUTES = "~7 min on 2 cores, less with more cores"
_STEP = re.compile(r"^\s*\[\s*(\d+)\s*/\s*(\d+)\s*\]")  # ninja: [12/140]
_PERCENT = re.compile(r"^\s*\[\s*(\d+)%\]")  # make: [ 12%]


def llama_pin(path: Path = LLM_REQUIREMENTS) -> str:
    """The one requirement line of llm.txt (`llama-cpp-python[server]==X`)."""
    pins = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and ln[0] != "#"]
    if len(pins) != 1:
        raise SystemExit(f"{path.name} must hold exactly one requirement, found {pins}")
    return pins[0]


def installed_version() -> str | None:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return None


def progress(lines: Iterable[str]) -> Iterator[int]:
    """Percent done, from a build log's step counters; one value per new tenth reached."""
    shown_tenth = -1
    for line in lines:
        m = _STEP.match(line)
        if m:
            pct = 100 * int(m.group(1)) // max(int(m.group(2)), 1)
        else:
            m = _PERCENT.match(line)
            if not m:
                continue
            pct = int(m.group(1))
        if pct // 10 > shown_tenth:
            shown_tenth = pct // 10
            yield pct


def missing_tools() -> list[str]:
    """What the compile needs and this machine lacks (cmake/ninja come from PyPI if absent)."""
    missing = []
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        missing.append("a C++ compiler (c++/g++/clang++)")
    if not any(shutil.which(c) for c in ("cc", "gcc", "clang")):
        missing.append("a C compiler (cc/gcc/clang)")
    return missing


def build(pin: str, constraints: Path, log_path: Path) -> int:
    """Run pip verbosely; stream progress lines to stdout, everything to `log_path`."""
    cmd = [
        sys.executable, "-m", "pip", "install", "-v", "--no-cache-dir", "--progress-bar", "off",
        "-c", str(constraints), pin,
    ]  # fmt: skip
    env = {**os.environ, "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=OFF")}
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    start = time.monotonic()
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        ) as proc,
    ):
        assert proc.stdout is not None

        def tee() -> Iterator[str]:
            for line in proc.stdout:  # type: ignore[union-attr]
                log.write(line)
                yield line

        for pct in progress(tee()):
            mins, secs = divmod(int(time.monotonic() - start), 60)
            print(f"  compiling llama.cpp: {pct:3d}% after {mins}:{secs:02d}", flush=True)
        code = proc.wait()
    if code != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-25:]
        print("\n".join(["ERROR: the llama.cpp build failed; end of the log:", *tail]))
        print(f"Full log: {shown(log_path)}. Most often a C/C++ compiler is missing: "
              "Debian/Ubuntu `apt install build-essential`, Fedora `dnf install gcc-c++`, "
              "macOS `xcode-select --install`, conda `conda install -c conda-forge "
              "cxx-compiler`.", file=sys.stderr)  # fmt: skip
        return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--constraints", type=Path, default=LOCK, help="pip constraints file")
    args = parser.parse_args(argv)
    pin = llama_pin()
    want = pin.rsplit("==", 1)[1]
    if installed_version() == want:
        print(f"llama-cpp-python {want}: up to date")
        return 0
    missing = missing_tools()
    if missing:
        print(f"ERROR: compiling the llama.cpp server needs {' and '.join(missing)}. Install "
              "one (Debian/Ubuntu: `apt install build-essential`; conda: `conda install -c "
              "conda-forge c-compiler cxx-compiler`), then run the setup again.",
              file=sys.stderr)  # fmt: skip
        return 1
    log_path = runtime_path("logs") / "llama-build.log"
    print(f"Compiling the llama.cpp server ({pin}, C/C++ via CMake): once, {EXPECTED_MINUTES}. "
          f"Progress below; full log in {shown(log_path)}.", flush=True)  # fmt: skip
    start = time.monotonic()
    code = build(pin, args.constraints, log_path)
    if code == 0:
        print(f"llama-cpp-python {want} compiled and installed in {time.monotonic() - start:.0f}s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
