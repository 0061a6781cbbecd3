"""The conditions of a run, recorded with its results: CPU, threads, versions.

Also the git commit the code came from, and whether the working tree differed
from it. `benchmarks/speed.py` imports `cpu_model` from here too.
"""

import datetime
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys

from tfcsuite.zoo import REPO_ROOT
from tfcsuite.datasets import kodak


def cpu_model():
  """The CPU's model name, from /proc/cpuinfo where there is one."""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown"


def configure_tensorflow_threads(threads, record):
  """Fixes TensorFlow's thread pools; must run before TensorFlow's first op."""
  import tensorflow as tf
  try:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
  except RuntimeError:
    pass  # Already running (e.g. called twice in one process); see below.
  intra = tf.config.threading.get_intra_op_parallelism_threads()
  inter = tf.config.threading.get_inter_op_parallelism_threads()
  if (intra, inter) != (threads, threads):
    print(f"kodak.py: warning: TensorFlow was already running with "
          f"intra/inter-op threads {intra}/{inter} (0 = all cores), not "
          f"{threads}", file=sys.stderr)
  record["tensorflow intra_op"] = intra
  record["tensorflow inter_op"] = inter


def measure_curves(specs, image_paths, cache, threads, keep_bitstreams,
                   show_progress):
  """Measures every point of `specs` with `threads` threads.

  Returns (measurements, number taken from the cache, the thread record
  stored with the results).
  """
  from tfcsuite.harness import classical, evaluation
  record = dict(requested=threads)
  record.update(classical.configure_threads(threads))
  measurements, from_cache = evaluation.evaluate(
      [point for spec in specs for point in spec.points], image_paths, cache,
      keep_bitstreams=keep_bitstreams,
      before_first_measurement=(
          lambda: configure_tensorflow_threads(threads, record)),
      show_progress=show_progress)
  note_idle_tensorflow(record)
  return measurements, from_cache, record


def note_idle_tensorflow(record):
  """Says in `record` why it has no TensorFlow thread counts, if it has none."""
  if "tensorflow intra_op" not in record:
    record["tensorflow"] = ("not started: every measurement came from the "
                            "cache, whose key includes the thread count")


def git_state():
  """Commit and whether tracked files differ from it (read-only queries)."""
  def run(*command):
    # --no-optional-locks: `status` must not refresh the index, which could
    # collide with a commit being made at the same time.
    return subprocess.run(["git", "--no-optional-locks", *command],
                          cwd=REPO_ROOT, text=True, capture_output=True,
                          timeout=20).stdout.strip()
  try:
    sha = run("rev-parse", "HEAD") or None
    dirty = bool(run("status", "--porcelain", "--untracked-files=no"))
  except (OSError, subprocess.SubprocessError):
    sha, dirty = None, False
  return dict(sha=sha, dirty=dirty)


def _version(distribution):
  try:
    return importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return None


def metadata(argv, args, image_paths, threads, measurements, from_cache,
             program="python benchmarks/kodak.py", complete=None):
  """The run's environment and inputs, as stored in kodak.json.

  `program` starts the recorded command; `complete` (whether the images are
  the whole Kodak set) defaults to "all 24 verified Kodak files".
  """
  import numpy
  # Imported here, not at the top: speed.py imports this module before it
  # forks the processes whose memory it measures, so it must stay light.
  from tfcsuite.harness import classical
  versions = {"Python": platform.python_version(), "numpy": numpy.__version__,
              "TensorFlow": _version("tensorflow"),
              "TensorFlow Compression": _version("tensorflow-compression")}
  versions.update(classical.versions())
  return dict(
      date=datetime.datetime.now(datetime.timezone.utc).strftime(
          "%Y-%m-%d %H:%M UTC"),
      command=f"{program} {shlex.join(argv)}",
      images=[os.path.basename(p) for p in image_paths],
      complete=(len(image_paths) == len(kodak.SHA256) if complete is None
                else complete),
      data_dir=args.data_dir, reference_dir=args.reference_dir,
      cpu=dict(model=cpu_model(), cores=os.cpu_count(),
               usable_cores=len(os.sched_getaffinity(0))
               if hasattr(os, "sched_getaffinity") else os.cpu_count()),
      platform=platform.platform(), threads=threads, versions=versions,
      git=git_state(), measurements=measurements, from_cache=from_cache,
      timing=("perf_counter around encode (to bytes) and decode (from bytes) "
              "separately, after one untimed warm-up encode and decode per "
              "point; checkpoint loading, model building, file I/O and "
              "metrics excluded"))
