"""Colab, simulated: the setup cell's steps run as Colab would run them, offline and cheaply.

Colab cannot run here, so the simulation builds what matters about it:
- a fresh interpreter whose preinstalled packages are the course venv's own files, hard-linked
  (seconds, no copies), minus what Colab lacks (torchmetrics, llama-cpp-python, the course),
  with three packages at Colab's own, different versions (pandas, rich, wandb);
- a stand-in `google.colab` module whose `userdata.get` serves secrets, imported before the
  cells run, as in Colab's kernel;
- a `/content`-like folder; git's `insteadOf` sends the configured repository URL to this
  checkout, so the cell's real `git clone` runs;
- a stand-in W&B API on loopback, so a W&B secret is checked for real;
- pip with no index at all: the packages the cell installs come from wheels re-packed from the
  course venv's installed files, so the test needs no network.
The cells run in IPython's InteractiveShell; a restart is a new process.
What stays reasoned, not tested, is in the README's "Colab notes".
"""

from __future__ import annotations

import base64
import csv
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from pip._vendor.packaging.requirements import Requirement

from utils.harness import course_notebooks
from utils.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import colab_setup

REPO_URL = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["urls"][
    "Repository"
]
NOTEBOOKS = course_notebooks()
IDS = [nb.parent.name for nb in NOTEBOOKS]


def setup_cell(nb: Path) -> str:
    cells = nbformat.read(nb, as_version=4).cells
    (cell,) = [c for c in cells if "setup" in c.metadata.get("tags", [])]
    return str(cell.source)


# -- one repository URL ----------------------------------------------------------------------


def test_the_configured_url_is_a_github_repository() -> None:
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL), REPO_URL


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_badge_and_setup_cell_use_the_configured_url(nb: Path) -> None:
    rel = nb.relative_to(REPO_ROOT)
    owner_name = REPO_URL.removeprefix("https://github.com/")
    badge = f"https://colab.research.google.com/github/{owner_name}/blob/main/{rel}"
    assert badge in nbformat.read(nb, as_version=4).cells[0].source
    src = setup_cell(nb)
    assert f'REPO = "{REPO_URL}"' in src
    assert src.count("github.com") == 1, "one URL, in REPO"
    assert "|| true" not in src and "2>/dev/null" not in src, "failures must be loud"
    assert f'["main"](["{rel.parent}"])' in src, "colab_setup must chdir to this notebook's folder"


# -- the plan, on made-up runtimes -----------------------------------------------------------

LOCK = {"torch": "2.13.0", "torchmetrics": "1.9.0", "pandas": "3.1.1", "wandb": "0.31.0",
        "lightning-utilities": "0.15.3", "rich": "15.0.0"}  # fmt: skip
WANTED = [Requirement(r) for r in ("torch>=2", "torchmetrics", "pandas", "wandb==0.31.0", "rich")]


def test_plan_installs_what_colab_lacks_and_keeps_colab_pins() -> None:
    have = {"torch": "2.8.0+cu126", "pandas": "2.2.2", "wandb": "0.22.0", "rich": "15.0.0"}
    plan = colab_setup.make_plan(WANTED, LOCK, have)
    # torchmetrics shares a prefix with torch, which Colab has: it must still be installed.
    assert sorted(plan.install) == ["torchmetrics==1.9.0", "wandb==0.31.0"]
    assert plan.kept == {"torch": ("2.8.0+cu126", "2.13.0"), "pandas": ("2.2.2", "3.1.1")}
    # constraints pin what Colab lacks (and the exact pins), never Colab's own packages
    assert plan.constraints == {"torchmetrics": "1.9.0", "lightning-utilities": "0.15.3",
                                "wandb": "0.31.0"}  # fmt: skip


def test_plan_is_empty_when_colab_has_everything_at_acceptable_versions() -> None:
    have = {"torch": "2.8.0", "torchmetrics": "1.9.0", "pandas": "2.2.2", "wandb": "0.31.0",
            "rich": "13.9.4", "lightning-utilities": "0.15.3"}  # fmt: skip
    plan = colab_setup.make_plan(WANTED, LOCK, have)
    assert plan.install == [] and plan.constraints == {}


def test_lock_markers_are_evaluated_for_this_runtime() -> None:
    lock = colab_setup.read_lock()
    assert lock["torch"] == ("2.13.0+cpu" if sys.platform == "linux" else "2.13.0")
    assert "jupyterlab" in lock


def test_notebook_requirements_stop_at_the_development_section() -> None:
    names = {colab_setup.canonical(r.name) for r in colab_setup.notebook_requirements()}
    assert {"wandb", "weave", "torchmetrics", "gradio"} <= names
    assert not names & {"jupyterlab", "pytest", "ruff", "mypy", "papermill", "nbval"}


def test_pip_dry_run_decides_which_colab_versions_must_change(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Colab's numpy is kept by the plan; pip's report says pandas 3 needs a newer one, so
    numpy gets the lock's version and stops being "kept". pip itself is replaced by its report
    (the format pip writes with --report), since the rounds are what is tested here."""
    lock = {"numpy": "2.4.6", "pandas": "3.1.1", "tzdata": "2025.2"}
    have = {"numpy": "1.26.4"}
    plan = colab_setup.make_plan([Requirement("numpy"), Requirement("pandas")], lock, have)
    assert plan.kept == {"numpy": ("1.26.4", "2.4.6")} and plan.install == ["pandas==3.1.1"]
    rounds: list[dict[str, str]] = []

    def fake_pip(args: list[str], env: object = None) -> subprocess.CompletedProcess[str]:
        constraints = Path(args[args.index("-c") + 1]).read_text().split()
        rounds.append(dict(c.split("==") for c in constraints))
        would = [("pandas", "3.1.1"), ("tzdata", "2025.2")]
        if "numpy==2.4.6" not in constraints:
            would.append(("numpy", "2.5.0"))  # unconstrained, pip would take the newest
        report = {"install": [{"metadata": {"name": n, "version": v}} for n, v in would]}
        Path(args[args.index("--report") + 1]).write_text(json.dumps(report))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(colab_setup, "_pip", fake_pip)
    monkeypatch.setattr(colab_setup, "CONSTRAINTS", tmp_path / "constraints.txt")
    said: list[str] = []
    resolved = colab_setup.resolve(plan, lock, have, said.append)
    assert resolved.constraints["numpy"] == "2.4.6" and "numpy" not in resolved.kept
    assert len(rounds) == 2 and "numpy" not in rounds[0]
    assert said == ["  numpy: Colab has 1.26.4, the course needs another version -> 2.4.6 "
                    "(the lock's)"]  # fmt: skip


def test_restart_is_needed_only_for_changed_packages_already_imported() -> None:
    before = {"numpy": "2.0.2", "wandb": "0.22.0", "rich": "13.9.4"}
    after = {"numpy": "2.4.6", "wandb": "0.31.0", "rich": "13.9.4", "weave": "0.54.0"}
    provides = {"numpy": {"numpy"}, "wandb": {"wandb"}, "rich": {"rich"}, "weave": {"weave"}}
    assert colab_setup.needs_restart(before, after, provides, ["numpy.linalg", "rich"]) == [
        "numpy 2.0.2 -> 2.4.6"
    ]
    assert colab_setup.needs_restart(before, after, provides, ["rich", "json"]) == []


def test_gradio_launch_is_private_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def launch(self: object, share: bool | None = None, quiet: bool = False) -> Any:
        return share

    wrapped = colab_setup.private_launch(launch)
    monkeypatch.delenv("GRADIO_SHARE", raising=False)
    assert wrapped(object()) is False and wrapped(object(), quiet=True) is False
    assert wrapped(object(), share=True) is True and wrapped(object(), True) is True
    monkeypatch.setenv("GRADIO_SHARE", "True")
    assert wrapped(object()) is True
    assert colab_setup.private_launch(wrapped) is wrapped


# -- the simulation ----------------------------------------------------------------------------

COLAB_VERSIONS = {"pandas": "2.2.3", "rich": "13.9.4", "wandb": "0.30.0"}  # Colab's own pins
COLAB_LACKS = ["torchmetrics", "lightning-utilities", "llama-cpp-python", "wandb-advanced-course"]
REPACK = ["torchmetrics", "lightning-utilities", "wandb"]  # what the cell will ask pip for
SECRETS = {"WANDB_API_KEY": "colab-sim-" + "0" * 30, "OPENAI_API_KEY": "colab-sim-openai"}


def repack(dist_name: str, dest: Path) -> Path:
    """A wheel rebuilt from an installed distribution's own files (its RECORD)."""
    import importlib.metadata as md

    dist = md.distribution(dist_name)
    info = Path(str(dist._path))  # type: ignore[attr-defined]
    site = info.parent
    wheel_meta = (info / "WHEEL").read_text()
    tag = re.search(r"^Tag: (.+)$", wheel_meta, re.M)
    assert tag, f"no tag in {info}/WHEEL"
    name = info.name.removesuffix(".dist-info")
    out = dest / f"{name}-{tag.group(1)}.whl"
    with (info / "RECORD").open() as fh, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for row in csv.reader(fh):
            rel = row[0]
            path = (site / rel).resolve()
            if rel.startswith("..") or "__pycache__" in rel or not path.is_file():
                continue
            zf.write(path, rel)
    return out


class _FakeWandb(http.server.BaseHTTPRequestHandler):
    """Answers the course's key check (a GraphQL viewer query) for the simulated secret."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        ok = (
            auth == "Basic " + base64.b64encode(f"api:{SECRETS['WANDB_API_KEY']}".encode()).decode()
        )
        body = {
            "data": {"viewer": {"username": "colab-sim", "entity": "colab-sim"} if ok else None}
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


RUNNER = r"""
import json, os, sys, traceback
import google.colab  # Colab's kernel has it imported before any cell runs
from IPython.core.interactiveshell import InteractiveShell

spec = json.loads(sys.argv[1])
for module in spec.get("import_first", []):
    __import__(module)
shell = InteractiveShell.instance()
out = {"errors": []}
for src in spec["cells"]:
    res = shell.run_cell(src)
    err = res.error_in_exec or res.error_before_exec
    if err is not None:
        out["errors"].append([type(err).__name__, str(err)])
        break
ns = shell.user_ns
if not out["errors"]:
    import importlib.metadata as md
    def version(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None
    out["cwd"] = os.getcwd()
    out["mode"] = ns["ctx"].mode.mode
    out["versions"] = {n: version(n) for n in spec["versions"]}
    out["utils_from"] = os.path.dirname(os.path.dirname(__import__("utils").__file__))
    if spec.get("gradio"):
        import gradio as gr, gradio.utils
        gradio.utils.colab_check = lambda: True  # as gradio sees a Colab kernel
        demo = gr.Interface(fn=lambda x: x, inputs="text", outputs="text")
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
        out["gradio_share"] = [demo.share, demo.share_url]
        demo.close()
print("RESULT " + json.dumps(out))
"""


class Sim:
    def __init__(self, root: Path, python: Path, env: dict[str, str], content: Path) -> None:
        self.root, self.python, self.env, self.content = root, python, env, content

    def run(self, cells: list[str], **spec: Any) -> dict[str, Any]:
        spec = {"cells": cells, "versions": ["torchmetrics", "pandas", "rich", "wandb",
                "llama-cpp-python"], **spec}  # fmt: skip
        proc = subprocess.run(
            [str(self.python), "-c", RUNNER, json.dumps(spec)], capture_output=True, text=True,
            cwd=self.content, env=self.env, timeout=600,
        )  # fmt: skip
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
        result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
        result["stdout"] = proc.stdout
        return result


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    root = tmp_path_factory.mktemp("colab")
    venv_site = Path(
        subprocess.run([sys.executable, "-c", "import site; print(site.getsitepackages()[0])"],
                       capture_output=True, text=True, check=True).stdout.strip()
    )  # fmt: skip
    wheels = root / "wheels"
    wheels.mkdir()
    for name in REPACK:
        repack(name, wheels)

    # The "preinstalled" runtime: the venv's files, hard-linked (pip replaces files, it never
    # writes into them, so the course venv is never touched).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "py")], check=True)
    python = root / "py" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                               capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    shutil.rmtree(site)
    try:
        subprocess.run(["cp", "-al", str(venv_site), str(site)], check=True, capture_output=True)
    except subprocess.CalledProcessError as err:
        pytest.skip(f"cannot hard-link the venv (another file system?): {err.stderr[-200:]}")
    for pth in site.glob("__editable__*"):
        pth.unlink()
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "uninstall", "-y", "-q", *COLAB_LACKS], check=True, capture_output=True)
    got = subprocess.run(
        [*pip, "install", "-q", "--no-deps", *(f"{n}=={v}" for n, v in COLAB_VERSIONS.items())],
        capture_output=True, text=True, env={**os.environ, "PIP_RETRIES": "0"},
    )  # fmt: skip
    if got.returncode != 0:
        pytest.skip(f"Colab's versions {COLAB_VERSIONS} not available offline: {got.stderr[-300:]}")
    colab = site / "google" / "colab"
    colab.mkdir(parents=True)
    (colab / "__init__.py").write_text("from . import userdata\n")
    (colab / "userdata.py").write_text(
        "import json, os\n\nclass SecretNotFoundError(Exception):\n    pass\n\n"
        "def get(name):\n    secrets = json.loads(os.environ.get('SIM_SECRETS', '{}'))\n"
        "    if name not in secrets:\n        raise SecretNotFoundError(name)\n"
        "    return secrets[name]\n"
    )

    # /content, and a repository the configured URL leads to: a clone of this checkout with
    # its uncommitted changes (so the test checks the working tree).
    content = root / "content"
    content.mkdir()
    origin = root / "origin"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(origin)], check=True)
    changed = subprocess.run(["git", "ls-files", "-m"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()  # fmt: skip
    for rel in changed:
        if (REPO_ROOT / rel).is_file():
            shutil.copy2(REPO_ROOT / rel, origin / rel)
    subprocess.run(["git", "-C", str(origin), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(origin), "-c", "user.name=sim", "-c", "user.email=sim@x",
                    "commit", "-q", "--allow-empty", "-m", "working tree"], check=True)  # fmt: skip
    gitconfig = root / "gitconfig"
    gitconfig.write_text(f'[url "{origin}"]\n\tinsteadOf = {REPO_URL}\n')

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeWandb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    for name in ("COURSE_MODE", "WANDB_MODE", "COURSE_HOME", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    env.update({
        "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
        "SIM_SECRETS": json.dumps(SECRETS),
        "WANDB_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull,
        "HOME": str(root / "home"), "NETRC": str(root / "no-netrc"),
        "PATH": f"{python.parent}:{env.get('PATH', '')}",
    })  # fmt: skip
    yield Sim(root, python, env, content)
    server.shutdown()


def _cells(sim: Sim, nb: Path) -> list[str]:
    src = setup_cell(nb).replace("/content/course", str(sim.content / "course"))
    return ['PROFILE = "fast"', src]


def test_colab_setup_cell_in_a_simulated_runtime(sim: Sim) -> None:
    nb = REPO_ROOT / "notebooks" / "_template" / "chapter_template.ipynb"
    lock = colab_setup.read_lock()
    clone = sim.content / "course"

    # First run. The learner had imported wandb (Colab's 0.30.0) before the setup cell; the
    # course needs exactly 0.31.0, so the kernel holds stale code: a restart is required.
    first = sim.run(_cells(sim, nb), import_first=["wandb"])
    assert first["errors"], first["stdout"][-3000:]
    kind, message = first["errors"][0]
    assert kind == "RestartRequired" and "wandb 0.30.0 -> 0.31.0" in message, message
    out = first["stdout"]
    assert out.index("LLM calls go to OpenAI") < out.index("installing what Colab lacks")
    assert "keeping Colab's 2.2.3" in out and "keeping Colab's 13.9.4" in out
    assert (clone / ".git").is_dir()

    # After the restart (a new process): no reinstall, the chapter's folder as working
    # directory, the packages where they should be, and no llama.cpp compile (OpenAI is used).
    second = sim.run(_cells(sim, nb), gradio=True)
    assert not second["errors"], second["errors"]
    assert "already installed in this runtime" in second["stdout"]
    assert Path(second["cwd"]) == clone / "notebooks" / "_template"
    assert (Path(second["cwd"]) / "solutions" / "ex1_best_step.py").is_file(), "%load path"
    assert Path(second["utils_from"]) == clone
    assert second["mode"] == "online"
    assert second["versions"] == {
        "torchmetrics": lock["torchmetrics"], "wandb": lock["wandb"],
        "pandas": COLAB_VERSIONS["pandas"], "rich": COLAB_VERSIONS["rich"],
        "llama-cpp-python": None,
    }  # fmt: skip
    assert second["gradio_share"] == [False, None], "launch() must stay private in Colab"


def test_colab_clone_failure_is_loud_and_actionable(sim: Sim, tmp_path: Path) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "{tmp_path / "missing"}"]\n\tinsteadOf = {REPO_URL}\n')
    content = tmp_path / "content"
    content.mkdir()
    broken = Sim(sim.root, sim.python, {**sim.env, "GIT_CONFIG_GLOBAL": str(gitconfig)}, content)
    nb = REPO_ROOT / "notebooks" / "_template" / "chapter_template.ipynb"
    src = setup_cell(nb).replace("/content/course", str(content / "course"))
    result = broken.run(['PROFILE = "fast"', src])
    kind, message = result["errors"][0]
    assert kind == "RuntimeError" and f"Could not clone {REPO_URL}" in message
    assert "fatal:" in message, "git's own reason must be shown"
    assert "network" in message and "REPO" in message
