"""Make a Colab runtime ready for one chapter: the setup cell of every notebook calls `main`.

    runpy.run_path("/content/course/scripts/colab_setup.py")["main"](["notebooks/01-weave"])

It runs inside the notebook's own kernel, on purpose:
- Colab secrets (`google.colab.userdata`) can only be read there, and they decide whether the
  local LLM is needed at all: with an OpenAI key in use, nobody waits for the llama.cpp compile
  (~7 min) and the 1.1 GB model. So the keys are read first, with the course's own rules
  (`utils.mode.detect`).
- Only the kernel knows which modules it has already imported, which is what decides whether
  a runtime restart is needed after pip changed something.
- The working directory and `sys.path` it sets are the kernel's: `%load solutions/<id>.py`
  and `from utils import ...` then work as they do locally.

What gets installed: the packages the notebooks import (requirements/course.in above its
DEVELOPMENT line) and their dependencies, where Colab lacks them, at the lock's versions. A
package Colab already has keeps Colab's version, unless the course pins it exactly (`==` in
course.in) or pip finds that the course's packages cannot work with it; then the lock's version
replaces it. Colab's torch (a CUDA build) is kept.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.metadata
import importlib.util
import inspect
import json
import os
import re
import site
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
COURSE_IN = ROOT / "requirements" / "course.in"
READY = ROOT / ".course-colab-ready"  # git-ignored; says what was installed for which inputs
CONSTRAINTS = ROOT / ".colab-constraints.txt"  # git-ignored; the constraints pip was given
DEV_MARK = "# --- DEVELOPMENT"
MAX_ROUNDS = 4  # dry-run rounds that may add a lock pin for a Colab package pip wants to change


class RestartRequired(RuntimeError):
    """pip changed a package this kernel had already imported: the old code is still loaded."""


def canonical(name: str) -> str:
    """PEP 503 name: `Jinja2`, `jinja2` and `jinja_2`-style spellings compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """Canonical name -> version, for the lock lines whose markers apply to this runtime."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        (spec,) = req.specifier
        pins[canonical(req.name)] = spec.version
    return pins


def notebook_requirements(path: Path = COURSE_IN) -> list[Requirement]:
    """course.in's requirements above the DEVELOPMENT line (what the notebooks import)."""
    reqs = []
    for line in path.read_text().splitlines():
        if line.startswith(DEV_MARK):
            break
        line = line.split("#", 1)[0].strip()
        if line:
            reqs.append(Requirement(line))
    return reqs


def installed_versions() -> dict[str, str]:
    """Canonical name -> version of every distribution this interpreter can import."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonical(name), dist.version)
    return found


class Plan(NamedTuple):
    install: list[str]  # requirements for pip: `name==lock version`
    constraints: dict[str, str]  # canonical name -> lock version, for pip's -c file
    kept: dict[str, tuple[str, str]]  # Colab's version kept over the lock's: name -> (has, lock)


def make_plan(
    wanted: Sequence[Requirement], lock: Mapping[str, str], have: Mapping[str, str]
) -> Plan:
    """What to ask pip for, before pip's own resolution has a say (see `resolve`).

    - a wanted package Colab lacks: the lock's version;
    - one Colab has at the lock's version: nothing to do;
    - one Colab has at another version: kept, unless course.in pins it exactly (`==`);
    - constraints: the lock's version of every package Colab lacks, so that dependencies pip
      brings in come at tested versions, while Colab's own packages stay unconstrained (a
      constraint on them would make pip replace them).
    """
    install, kept = [], {}
    for req in wanted:
        name = canonical(req.name)
        if name not in lock:
            raise SystemExit(f"{req.name} is in course.in but not in the lock: run scripts/lock.py")
        if name not in have:
            install.append(f"{name}=={lock[name]}")
        elif have[name] != lock[name]:
            exact = any(spec.operator == "==" for spec in req.specifier)
            if exact:
                install.append(f"{name}=={lock[name]}")
            else:
                kept[name] = (have[name], lock[name])
    constraints = {name: version for name, version in lock.items() if name not in have}
    for item in install:
        name, version = item.split("==")
        constraints[name] = version
    return Plan(install, constraints, kept)


def _pip(
    args: Sequence[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)


def _write_constraints(constraints: Mapping[str, str]) -> Path:
    CONSTRAINTS.write_text("".join(f"{n}=={v}\n" for n, v in sorted(constraints.items())))
    return CONSTRAINTS


def _fail(what: str, proc: subprocess.CompletedProcess[str]) -> SystemExit:
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "is ignored" not in ln]
    tail = "\n".join(lines[-20:])
    return SystemExit(
        f"{what} failed (pip's last lines below). Check the network and run this cell again; "
        f"if it fails the same way, Runtime ▸ Disconnect and delete runtime starts afresh.\n{tail}"
    )


def resolve(plan: Plan, lock: Mapping[str, str], have: Mapping[str, str],
            log: Callable[[str], None] = print) -> Plan:  # fmt: skip
    """Let pip say which of Colab's packages the course truly cannot use as they are.

    A dry run reports everything pip would install. When that includes a package Colab
    already has, pip found a requirement Colab's version does not meet; that package then gets
    the lock's version (a constraint), and the dry run repeats until it is stable.
    """
    constraints = dict(plan.constraints)
    kept = dict(plan.kept)
    for _ in range(MAX_ROUNDS):
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            proc = _pip(["install", "--dry-run", "-q", "--report", str(report),
                         "-c", str(_write_constraints(constraints)), *plan.install])  # fmt: skip
            if proc.returncode != 0:
                raise _fail("pip's dry run", proc)
            would = {
                canonical(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]
            }
        replaced = {n for n in would if n in have and n not in constraints and n in lock}
        if not replaced:
            return Plan(plan.install, constraints, kept)
        for name in sorted(replaced):
            log(f"  {name}: Colab has {have[name]}, the course needs another version "
                f"-> {lock[name]} (the lock's)")  # fmt: skip
            constraints[name] = lock[name]
            kept.pop(name, None)
    return Plan(plan.install, constraints, kept)


def top_level_modules() -> dict[str, set[str]]:
    """Canonical distribution name -> the top-level modules it provides."""
    modules: dict[str, set[str]] = {}
    for module, dists in importlib.metadata.packages_distributions().items():
        for dist in dists:
            modules.setdefault(canonical(dist), set()).add(module)
    return modules


def needs_restart(before: Mapping[str, str], after: Mapping[str, str],
                  provides: Mapping[str, set[str]], loaded: Iterable[str]) -> list[str]:  # fmt: skip
    """Packages pip changed that this kernel had imported (`name old -> new`)."""
    loaded_top = {m.split(".", 1)[0] for m in loaded}
    return [
        f"{name} {version} -> {after.get(name, 'removed')}"
        for name, version in sorted(before.items())
        if after.get(name) != version and provides.get(name, set()) & loaded_top
    ]


def needs_local_llm() -> tuple[bool, str]:
    """Whether LLM calls go to the local server, decided from the keys (read first)."""
    from utils import mode

    found = mode.detect()
    if found.openai:
        return False, "LLM calls go to OpenAI (an OpenAI key is set and the mode is online)"
    return True, f"LLM calls use the local model ({found.mode} mode, no OpenAI key in use)"


def _inputs_digest(local_llm: bool) -> str:
    data = LOCK.read_bytes() + COURSE_IN.read_bytes() + sys.version.encode()
    return hashlib.sha256(data + (b"llm" if local_llm else b"")).hexdigest()


def install_packages(log: Callable[[str], None] = print) -> None:
    """Install what the plan (after pip's dry run) says; constraints stay in CONSTRAINTS."""
    lock, have = read_lock(), installed_versions()
    plan = make_plan(notebook_requirements(), lock, have)
    for name, (has, locked) in sorted(plan.kept.items()):
        log(f"  {name}: keeping Colab's {has} (the lock has {locked}; the course works with it)")
    if not plan.install:
        _write_constraints(plan.constraints)
        log("  nothing to install: Colab has every package the notebooks import")
        return
    log(f"  resolving {len(plan.install)} packages Colab lacks or the course needs exactly ...")
    plan = resolve(plan, lock, have, log)
    proc = _pip(["install", "-q", "--progress-bar", "off",
                 "-c", str(_write_constraints(plan.constraints)), *plan.install])  # fmt: skip
    if proc.returncode != 0:
        raise _fail("pip install", proc)
    importlib.invalidate_caches()


def run_visible(cmd: Sequence[str]) -> int:
    """Run a command, printing its output through this kernel's stdout.

    A subprocess writing to the kernel's own file descriptors shows nothing in a Colab cell;
    lines read here and printed do (the llama.cpp compile's progress, the model download).
    """
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
        return proc.wait()


def install_local_llm() -> None:
    """Compile the llama.cpp server (constrained like everything else) and fetch the model."""
    for script, args in (
        ("build_llama.py", ["--constraints", str(CONSTRAINTS)]),
        ("setup_llm.py", []),
    ):
        if run_visible([sys.executable, str(ROOT / "scripts" / script), *args]) != 0:
            raise SystemExit(f"{script} failed (its message is above); run this cell again.")


def link_course() -> None:
    """Make `utils` importable here and in every process this runtime starts (a .pth file)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    site_dir = Path(site.getsitepackages()[0])
    pth = site_dir / "wandb_advanced_course.pth"
    if not pth.exists() or pth.read_text().strip() != str(ROOT):
        pth.write_text(f"{ROOT}\n")


# -- Gradio: private unless asked -------------------------------------------------------------
# In Colab, gradio's launch() without `share=` opens a public *.gradio.live tunnel to the
# learner's app. Colab can show the app privately (through its own port proxy), so the course
# makes share=False the default there: `launch(share=True)` or GRADIO_SHARE=True still share.

PRIVATE_MARK = "__course_private_by_default__"


def private_launch(launch: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `Blocks.launch` so that an omitted `share` means GRADIO_SHARE (default False)."""
    if getattr(launch, PRIVATE_MARK, False):
        return launch
    signature = inspect.signature(launch)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        if bound.arguments.get("share") is None:
            kwargs["share"] = os.environ.get("GRADIO_SHARE", "").strip().lower() == "true"
        return launch(*args, **kwargs)

    wrapped.__doc__ = launch.__doc__
    wrapped.__name__ = launch.__name__
    wrapped.__wrapped__ = launch  # type: ignore[attr-defined]
    setattr(wrapped, PRIVATE_MARK, True)
    return wrapped


class _PrivateGradio(importlib.abc.MetaPathFinder):
    """Patches `gradio.blocks.Blocks.launch` the moment gradio is imported (not before: gradio
    must be imported after `course.setup()` has switched its telemetry off)."""

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> Any:
        if fullname != "gradio.blocks":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def patched_exec(module: ModuleType) -> None:
            exec_module(module)
            module.Blocks.launch = private_launch(module.Blocks.launch)
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PrivateGradio)]

        loader.exec_module = patched_exec  # type: ignore[method-assign]
        return spec


def keep_gradio_private() -> None:
    """Install the import hook (or patch at once if gradio is already imported)."""
    blocks = sys.modules.get("gradio.blocks")
    if blocks is not None:
        blocks.Blocks.launch = private_launch(blocks.Blocks.launch)  # type: ignore[attr-defined]
    elif not any(isinstance(f, _PrivateGradio) for f in sys.meta_path):
        sys.meta_path.insert(0, _PrivateGradio())


def main(argv: Sequence[str]) -> None:
    """Ready this runtime for the chapter in `argv[0]` (a folder relative to the clone)."""
    if len(argv) != 1 or not (ROOT / argv[0]).is_dir():
        raise SystemExit(f"usage: main(['notebooks/NN-topic']), got {list(argv)}")
    link_course()  # first: the key rules below live in utils.mode
    local_llm, why = needs_local_llm()
    print(f"course: {ROOT} · {why}")
    digest = _inputs_digest(local_llm)
    if READY.exists() and READY.read_text().strip() == digest:
        print("course packages: already installed in this runtime")
    else:
        print("course packages: installing what Colab lacks (a minute or two) ...")
        before, provides = installed_versions(), top_level_modules()
        install_packages()
        if local_llm:
            install_local_llm()
        after = installed_versions()
        changed = sorted(n for n in after if before.get(n) != after[n])
        print(f"  installed or changed {len(changed)} packages")
        READY.write_text(digest + "\n")
        stale = needs_restart(before, after, provides, sys.modules)
        if stale:
            raise RestartRequired(
                "pip replaced packages this kernel had already imported: "
                + ", ".join(stale)
                + ". Runtime ▸ Restart session, then run this notebook again (the packages "
                "are installed; this cell then takes seconds)."
            )
        print("course packages: ready; no restart needed (nothing already imported changed)")
    keep_gradio_private()
    os.chdir(ROOT / argv[0])  # `%load solutions/<id>.py` and relative paths work as locally


if __name__ == "__main__":
    main(sys.argv[1:])
