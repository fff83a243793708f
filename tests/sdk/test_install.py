"""``pip install clients/python`` into a fresh virtualenv: the SDK installs on its own, from
this checkout, and imports without Django or any of the platform's packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdk_installs_alone_and_imports_without_django(tmp_path: Path) -> None:
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    source = tmp_path / "source"
    subprocess.run(["cp", "-r", str(ROOT / "clients" / "python"), str(source)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    # pip's configured index (offline here) gives the build backend and the two dependencies.
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    code = (
        "import sys, datadao_client\n"
        "from datadao_client import Client\n"
        "client = Client('http://127.0.0.1:9')\n"
        "print(datadao_client.__file__)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'datadao', 'ipfs', "
        "'contributions', 'labeling', 'rewards', 'datadao_cli', 'datadao_verify'}))\n"
    )
    done = subprocess.run(
        [python, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    location, leaked = done.stdout.splitlines()
    assert location.startswith(str(venv)) and leaked == "[]"
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout
    assert "datadao-client==0.1.0" in listed and "Django" not in listed
