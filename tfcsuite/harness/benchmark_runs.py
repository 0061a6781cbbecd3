"""What the process-level benchmarks share: measured child processes,
their command line and their result files (benchmarks/speed.py,
peak_memory.py, fuzz.py, determinism.py)."""

import argparse
import dataclasses
import json
import os
import subprocess
import time


@dataclasses.dataclass
class Measured:
  wall_seconds: float
  peak_rss_mib: float  # The child's maximum resident set size.
  returncode: int
  stderr: str


def run_measured(argv, env=None):
  """Runs `argv` to completion; its wall time, peak RSS and exit status.

  The peak RSS is the kernel's account of the child alone (`wait4`), not of
  this process.
  """
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
  start = time.perf_counter()
  process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
  stderr = process.stderr.read().decode(errors="replace")
  _, status, usage = os.wait4(process.pid, 0)
  wall = time.perf_counter() - start
  return Measured(wall, usage.ru_maxrss / 1024.,
                  os.waitstatus_to_exitcode(status), stderr)


def parser(doc, name, models_default=None):
  """A benchmark's flags: --data_dir (Kodak), --models, --out."""
  from tfcsuite import zoo
  result = argparse.ArgumentParser(description=doc.splitlines()[0])
  result.add_argument("--data_dir", required=True, help="Kodak PNG folder.")
  result.add_argument("--models", nargs="+", default=models_default,
                      help="Default: " + (" ".join(models_default)
                                          if models_default else
                                          "every registered model."))
  result.add_argument(
      "--out", default=os.path.join(zoo.REPO_ROOT, "benchmarks", "results",
                                    name),
      help="Results path without extension (.json and .md are written).")
  return result


def write_results(out, result, markdown):
  """Writes `result` to OUT.json and the `markdown` text to OUT.md."""
  with open(out + ".json", "w") as f:
    json.dump(result, f, indent=1)
  with open(out + ".md", "w") as f:
    f.write(markdown)


def run_conditions():
  """What a run's rows record, taken when it starts: the code's commit (and
  whether it had local edits), the process's niceness and its TensorFlow
  thread settings from the environment."""
  from tfcsuite.harness import environment
  git = environment.git_state()
  return dict(commit=(git["sha"] or "unknown")[:10] +
              (" (with local edits)" if git["dirty"] else ""),
              nice=os.nice(0),
              tf_threads=os.environ.get("TF_NUM_INTRAOP_THREADS", "default"))


def run_row(row, conditions):
  """`row` with the run's `conditions` and the UTC date it ended."""
  return dict(row, **conditions,
              date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def merge_rows(out, rows):
  """The "models" rows of OUT.json, as on disk now, with those of the
  models in `rows` replaced by `rows`: each model's row keeps the run that
  made it, and runs of other models writing meanwhile are not lost."""
  kept = []
  if os.path.exists(out + ".json"):
    with open(out + ".json") as f:
      kept = json.load(f)["models"]
  names = {row["model"] for row in rows}
  return sorted([row for row in kept if row["model"] not in names] + rows,
                key=lambda row: row["model"])
