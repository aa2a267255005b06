"""The setup's own steps, each run for real on a small scale.

- torch: the CPU build comes from pip's configured sources when they have it, otherwise from
  PyTorch's CPU index; a tiny stand-in wheel and two local indexes play the parts of the real
  wheel, PyPI and download.pytorch.org (which this test cannot reach).
- the environment: an active conda environment becomes `.venv`; unsupported Pythons are
  refused with a message that says what to do.
- the llama.cpp compile: progress read from the build tool's counters; missing compilers named.
- `make lab` as root: Jupyter refuses root without `--allow-root`, and starts with it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from utils.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import build_llama
import install_torch

TORCH_LOCAL = "2.13.0+cpu"


# -- torch -----------------------------------------------------------------------------------


def test_lock_pins_the_cpu_build_on_linux_and_plain_torch_elsewhere() -> None:
    linux = install_torch.torch_requirement(environment={"sys_platform": "linux"})
    mac = install_torch.torch_requirement(environment={"sys_platform": "darwin"})
    assert linux == f"torch=={TORCH_LOCAL}"
    assert mac == "torch==2.13.0"
    lock = (REPO_ROOT / "requirements" / "lock.txt").read_text().lower().splitlines()
    pins = [ln for ln in lock if ln and not ln.startswith("#")]
    assert not [p for p in pins if p.startswith(("nvidia", "triton"))], "CUDA-only packages"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def fake_torch_wheel(dest: Path, version: str = TORCH_LOCAL) -> Path:
    """A valid, tiny wheel named like the CPU build (pip checks names, tags and RECORD)."""
    dest.mkdir(parents=True, exist_ok=True)
    info = f"torch-{version}.dist-info"
    files = {
        "torch/__init__.py": f"__version__ = {version!r}\n".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    wheel = dest / f"torch-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def simple_index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 index on disk serving `wheels` for the project `torch` (file:// URL)."""
    project = root / "torch"
    project.mkdir(parents=True)
    links = "".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in wheels)
    (project / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    return root.as_uri()


@pytest.fixture(scope="module")
def torch_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("torchvenv")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    return root / "venv" / "bin" / "python"


def _run_install(python: Path, env_extra: dict[str, str], cpu_index: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_RETRIES": "0", "PIP_NO_CACHE_DIR": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", **env_extra})  # fmt: skip
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "torch"], env=env,
                   capture_output=True)  # fmt: skip
    proc = subprocess.run(
        [str(python), str(REPO_ROOT / "scripts" / "install_torch.py"), "--cpu-index", cpu_index],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _installed(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('torch'))"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="the +cpu label is Linux-only")
def test_fresh_machine_gets_torch_from_the_cpu_index(torch_venv: Path, tmp_path: Path) -> None:
    wheel = fake_torch_wheel(tmp_path / "wheels")
    pypi = tmp_path / "pypi"  # PyPI: has torch, but no +cpu build
    simple_index(pypi, [fake_torch_wheel(tmp_path / "pypi-files", "2.13.0")])
    cpu = simple_index(tmp_path / "cpu", [wheel])
    code, out = _run_install(torch_venv, {"PIP_INDEX_URL": pypi.as_uri()}, cpu)
    assert code == 0, out
    assert "trying PyTorch's CPU index" in out and f"installed from {cpu}" in out
    assert _installed(torch_venv) == TORCH_LOCAL


@pytest.mark.skipif(sys.platform != "linux", reason="the +cpu label is Linux-only")
def test_configured_sources_win_and_the_cpu_index_is_not_asked(
    torch_venv: Path, tmp_path: Path
) -> None:
    wheel = fake_torch_wheel(tmp_path / "wheels")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PIP_FIND_LINKS": str(wheel.parent), "PIP_INDEX_URL": empty.as_uri()}
    code, out = _run_install(torch_venv, env, (tmp_path / "unreachable").as_uri())
    assert code == 0, out
    assert "installed from pip's configured sources" in out and "CPU index" not in out
    assert _installed(torch_venv) == TORCH_LOCAL


@pytest.mark.skipif(sys.platform != "linux", reason="the +cpu label is Linux-only")
def test_no_source_fails_loudly_with_what_to_do(torch_venv: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = _run_install(torch_venv, {"PIP_INDEX_URL": empty.as_uri()}, empty.as_uri())
    assert code == 1
    assert f"could not install torch=={TORCH_LOCAL}" in out and "--find-links" in out


# -- the environment -------------------------------------------------------------------------


def _course_env(tmp_path: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "scripts").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "scripts" / "course_env.sh", tmp_path / "scripts")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONDA_", "PYTHON"))}
    env.update(env_extra)
    return subprocess.run(["bash", str(tmp_path / "scripts" / "course_env.sh")],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip


def _fake_python(path: Path) -> Path:
    """An interpreter that is not 3.11/3.12 (the check only runs it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(0o755)
    return path


def test_an_active_conda_environment_becomes_the_one_environment(tmp_path: Path) -> None:
    prefix = tmp_path / "conda" / "envs" / "wandb-course"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    repo = tmp_path / "repo"
    proc = _course_env(repo, {"CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": "wandb-course"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / ".venv").is_symlink() and (repo / ".venv").resolve() == prefix.resolve()
    assert "conda environment 'wandb-course'" in proc.stdout
    again = _course_env(repo, {"CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": "wandb-course"})
    assert again.returncode == 0 and again.stdout == "", "a second run changes nothing"


def test_conda_base_and_unsupported_pythons_are_refused(tmp_path: Path) -> None:
    bad = _fake_python(tmp_path / "bin" / "python3")
    proc = _course_env(tmp_path / "a", {"CONDA_PREFIX": str(tmp_path), "CONDA_DEFAULT_ENV": "x"})
    assert proc.returncode == 1 and "does not have Python 3.11 or 3.12" in proc.stdout
    proc = _course_env(tmp_path / "b", {"PYTHON": str(bad), "CONDA_DEFAULT_ENV": "base"})
    assert proc.returncode == 1 and "needs Python 3.11 or 3.12" in proc.stdout
    assert not (tmp_path / "b" / ".venv").exists()


# -- the llama.cpp compile -------------------------------------------------------------------


def test_compile_progress_from_ninja_and_make_counters() -> None:
    ninja = [f"[{i}/40] Building CXX object ggml/src/x{i}.o" for i in range(1, 41)]
    assert list(build_llama.progress(["noise", *ninja])) == [2, 10, 20, 30, 40, 50, 60, 70,
                                                             80, 90, 100]  # fmt: skip
    make = ["[  3%] Building C object a.o", "[  7%] Building", "[ 12%] Linking", "[100%] Built"]
    assert list(build_llama.progress(make)) == [3, 12, 100]


def test_missing_compilers_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert len(build_llama.missing_tools()) == 2
    assert build_llama.llama_pin().startswith("llama-cpp-python[server]==")


# -- make lab as root ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_lab(tmp_path: Path, extra: list[str]) -> tuple[bool, str]:
    """Start JupyterLab; True once it serves, False if it exits first."""
    jupyter = Path(sys.executable).parent / "jupyter"
    cmd = [str(jupyter), "lab", "--no-browser", f"--ServerApp.port={_free_port()}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={tmp_path}", *extra]  # fmt: skip
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_DATA_DIR": str(tmp_path / "d")}  # fmt: skip
    log = tmp_path / f"lab{len(extra)}.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if "is running at" in log.read_text() or "http://127.0.0.1" in log.read_text():
                    return True, log.read_text()
                if proc.poll() is not None:
                    return False, log.read_text()
                time.sleep(0.5)
            return False, log.read_text()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs --allow-root")
def test_make_lab_passes_allow_root_and_jupyter_starts_with_it(tmp_path: Path) -> None:
    dry = subprocess.run(["make", "-n", "lab"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert "jupyter lab --allow-root" in dry.stdout, dry.stdout
    started, log = _start_lab(tmp_path, [])
    assert not started and "allow-root" in log, "as root, Jupyter refuses without the flag"
    started, log = _start_lab(tmp_path, ["--allow-root"])
    assert started, log[-2000:]
