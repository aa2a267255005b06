"""Install torch as the lock means it: the CPU build on Linux, wherever pip can find it.

    python scripts/install_torch.py    # called by scripts/setup.sh before the rest of the lock

Why a step of its own: on Linux, PyPI's `torch` wheel is the CUDA build and drags in several GB of
`nvidia-*` packages a CPU course never uses. The CPU build carries a local version label
(`2.13.0+cpu`) and lives on PyTorch's own index, which pip does not know about. A requirements
file cannot name an index for one package only, so torch is installed first, alone:

1. from pip's configured sources (a find-links folder, a mirror, a wheel cache: how machines
   without internet access get it);
2. only if they do not have it, from PyTorch's CPU index (a fresh machine with internet).

Then `pip install -r requirements/lock.txt` finds the pin already satisfied and never needs
that index. On macOS and Windows PyPI's wheel is CPU-only already; the lock pins it without a
label there, and step 2 is never needed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_requirement(lock: Path = LOCK, environment: dict[str, str] | None = None) -> str:
    """The lock's torch pin that applies on this platform, without its marker (`torch==X`)."""
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.lower().startswith("torch=="):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(environment):
            return f"{req.name}{req.specifier}"
    raise SystemExit(f"{lock.name} has no torch pin for this platform")


def installed_version() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def _pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--progress-bar", "off", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def _tail(proc: subprocess.CompletedProcess[str], n: int = 6) -> str:
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "is ignored" not in ln]
    return "\n".join("    " + ln for ln in lines[-n:])


def install(requirement: str, cpu_index: str = CPU_INDEX) -> int:
    """Install `requirement` (no dependencies: the lock brings them); 0 on success."""
    want = requirement.split("==", 1)[1]
    if installed_version() == want:
        print(f"torch {want}: up to date")
        return 0
    first = _pip([requirement])
    if first.returncode == 0:
        print(f"torch {want}: installed from pip's configured sources")
        return 0
    if "+cpu" not in want:  # PyPI has this build: nothing else to try
        print(f"ERROR: pip could not install {requirement}:\n{_tail(first)}", file=sys.stderr)
        return 1
    print(f"torch {want}: not in pip's configured sources; trying PyTorch's CPU index {cpu_index}")
    second = _pip([requirement, "--index-url", cpu_index])
    if second.returncode == 0:
        print(f"torch {want}: installed from {cpu_index}")
        return 0
    print(
        f"ERROR: could not install {requirement}.\n"
        f"  from pip's configured sources:\n{_tail(first)}\n"
        f"  from {cpu_index}:\n{_tail(second)}\n"
        "  Check the network (or make the CPU wheel available to pip: `pip download "
        f"{requirement} --index-url {cpu_index}` on a connected machine, then pip's "
        "--find-links), and run the setup again.",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--cpu-index", default=CPU_INDEX, help="PyTorch's CPU wheel index")
    args = parser.parse_args(argv)
    return install(torch_requirement(args.lock), args.cpu_index)


if __name__ == "__main__":
    raise SystemExit(main())
