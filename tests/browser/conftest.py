"""Fixtures of the browser tests: headless Chromium, a private JupyterLab, artifacts.

* ``browser``: the Debian ``chromium`` (``$CHROMIUM``, default ``/usr/bin/chromium``) driven by
  Python ``playwright``; no browser is ever downloaded.  Without Chromium or playwright the
  tests are skipped with the reason, except under CI (``CI=true``), where they fail.
* ``lab``: JupyterLab on 127.0.0.1, a free port (``port_retries=0``), a random token, the
  project's lab settings (``binder/overrides.json``: no news pop-up, no update check), its
  own config/data/runtime/settings/workspace directories, serving a temporary copy of the
  repository's layout — ``notebooks/*.ipynb`` under the root, as ``make lab`` and Binder
  serve them — so that nothing a test does can touch the committed notebooks.  Teardown
  shuts the server down and then kills, by PID, the server's process group and every
  kernel it started, and checks that none is left.
* ``artifacts``: ``tests/artifacts/browser/`` (git-ignored) for screenshots, saved pages,
  console logs and the server log.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NOTEBOOKS = REPO / "notebooks"
LAB_OVERRIDES = REPO / "binder" / "overrides.json"  # what make lab and Binder install
E2E_NOTEBOOK = HERE / "widgets_e2e.ipynb"
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}

# The notebook is a fixture, not a test: nbval (pytest --nbval) must not collect it.
collect_ignore = ["widgets_e2e.ipynb"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str, *, module_level: bool = False) -> None:
    """Skip (on a developer's machine) or fail (under CI) because ``reason``."""
    if in_ci():
        pytest.fail(
            f"{reason}. CI=true: the browser tests must run in CI (`make system` installs "
            "Debian's chromium; `make venv` installs playwright and jupyterlab).",
            pytrace=False,
        )
    pytest.skip(
        f"{reason} (`sudo make system` installs Chromium, `make venv` the Python packages; "
        "or set CHROMIUM=/path/to/chromium)",
        allow_module_level=module_level,
    )


def require_playwright() -> None:
    """For a test module: skip it (or fail under CI) when playwright is not installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the Python package playwright is not installed", module_level=True)


def playwright_sync_api() -> Any:
    """For one test: ``playwright.sync_api``, or skip (fail under CI) without playwright."""
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        unavailable("the Python package playwright is not installed")
    return sync_api


def find_chromium() -> str:
    """The path of Chromium (``$CHROMIUM``), or skip (fail under CI) without it.

    Also for the browser tests outside this folder (tests/viz), so the rule is written once.
    """
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        unavailable(f"no Chromium at {CHROMIUM}")
    assert path is not None
    return path


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test using a fixture failed (for a screenshot in its teardown)."""
    return request.node.stash.get(_CALL_FAILED, False)


# --- the browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium()


# Module scope, not session: playwright's sync API runs an event loop in this thread while it
# is open, and another test's sync_playwright() refuses to start inside it.
@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # executable_path: Debian's chromium; playwright never downloads a browser here.
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def shot(artifacts: Path, request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
    """``shot("player-0", locator)``: a PNG of the element in tests/artifacts/browser/."""
    prefix = request.node.name.replace("test_", "", 1)
    for char in "[]/ ":
        prefix = prefix.replace(char, "_")

    def take(name: str, locator: Any) -> None:
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(artifacts / f"{prefix.strip('_')}--{name}.png"))

    return take


# --- the widgets of tests/browser/widgets_e2e.ipynb, built in this process -----------------------
def notebook_code(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return "\n\n".join("".join(c["source"]) for c in cells)


@pytest.fixture(scope="session")
def e2e_widgets() -> dict[str, Any]:
    """The namespace after running widgets_e2e.ipynb's code here: ``player``, ``race``..."""
    namespace: dict[str, Any] = {"__name__": "widgets_e2e"}
    exec(compile(notebook_code(E2E_NOTEBOOK), str(E2E_NOTEBOOK), "exec"), namespace)
    return namespace


# --- JupyterLab --------------------------------------------------------------------------------
@dataclass
class Lab:
    url: str  # http://127.0.0.1:<port>
    token: str
    root: Path  # what the server serves (a temporary copy)
    process: subprocess.Popen[bytes]

    def notebook_url(self, name: str) -> str:
        """The notebook alone, in a workspace of its own (nothing restored from a former tab)."""
        # zh/01_x.ipynb and 01_x.ipynb get different workspaces
        workspace = str(Path(name).with_suffix("")).replace(".", "-").replace("/", "-")
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5.0) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method == "POST" else None,
        )
        with urllib.request.urlopen(req, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lab_settings(settings_dir: Path) -> None:
    """User settings: no autosave (the copies are thrown away).  The news and update
    settings are the project's own (``LAB_OVERRIDES``), which the tests check."""
    files = {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    }
    for name, values in files.items():
        path = settings_dir / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


# --- processes, by PID (Linux /proc) -----------------------------------------------------------
def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def _start_time(pid: int) -> str | None:
    """When ``pid`` started: tells a process from a later one that got the same PID."""
    fields = _stat(pid)
    return fields[19] if fields else None


def _descendants(pid: int) -> dict[int, str]:
    """PID -> start time of every process below ``pid`` (kernels and their children)."""
    if not Path("/proc").is_dir():
        return {}
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        start = _start_time(p)
        if start is not None:
            out[p] = start
            todo.extend(children.get(p, []))
    return out


def _alive(procs: dict[int, str]) -> list[int]:
    return [pid for pid, start in procs.items() if _start_time(pid) == start]


def _wait_gone(procs: dict[int, str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.1)


def _signal(pid: int, sig: signal.Signals) -> None:
    """``sig`` to the process group that ``pid`` leads (a kernel has its own), else to it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _stop_lab(lab: Lab) -> tuple[list[str], list[int]]:
    """Shut the server down, then kill by PID whatever of it and its kernels is left.

    Returns notes on what had to be killed, and the PIDs still alive in the end (none).
    """
    server = lab.process
    procs = _descendants(server.pid)  # the kernels (each in a session of its own), ...
    notes = []
    try:
        lab.api("/api/shutdown", method="POST")  # shuts the kernels down, then the server
    except OSError as exc:
        notes.append(f"/api/shutdown failed ({exc})")
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            notes.append(f"{sig.name} to the server's process group")
            _signal(server.pid, sig)
        try:
            server.wait(timeout=10 if sig is None else 5)
            break
        except subprocess.TimeoutExpired:
            continue
    _signal(server.pid, signal.SIGKILL)  # anything else left in the server's process group
    for sig in (signal.SIGTERM, signal.SIGKILL):
        _wait_gone(procs, 5)
        for pid in _alive(procs):
            notes.append(f"{sig.name} to process {pid} (a kernel left behind)")
            _signal(pid, sig)
    _wait_gone(procs, 2)
    return notes, _alive(procs)


@pytest.fixture(scope="module")
def lab(
    chromium_path: str, artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        unavailable("the Python package jupyterlab is not installed")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    shutil.copytree(
        NOTEBOOKS,
        root / NOTEBOOKS.name,
        ignore=shutil.ignore_patterns("src", "_*.py", "__pycache__", ".ipynb_checkpoints"),
    )
    shutil.copy(E2E_NOTEBOOK, root / E2E_NOTEBOOK.name)
    app_settings = tmp / "app_settings"  # JupyterLab's {sys.prefix}/share/jupyter/lab/settings
    app_settings.mkdir()
    shutil.copy(LAB_OVERRIDES, app_settings / "overrides.json")

    env = dict(os.environ)
    for var in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR",
    ):
        folder = tmp / var.lower()
        folder.mkdir()
        env[var] = str(folder)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    _lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))

    port = _free_port()
    token = secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={app_settings}",
        "--LabApp.news_url=None",  # the server never fetches a news feed
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no PyPI queries
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the test reads cell states
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = artifacts / "lab-server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, process=process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {process.returncode}:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            try:
                if "started" in server.api("/api/status", timeout=2):
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "JupyterLab did not answer /api/status within 60 s:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.2)
        yield server
    finally:
        notes, left = _stop_lab(server)
        log.close()
        if notes:
            print("\nJupyterLab teardown: " + "; ".join(notes))
        assert process.poll() is not None, "the JupyterLab server is still running"
        assert not left, f"processes left after shutting JupyterLab down: {left}"
