#!/usr/bin/env python3
"""Long decoder fuzzing: thousands of mutated files per model, one process.

For each model, a 64x96 crop of a Kodak image is compressed with its default
checkpoint and then mutated (`tfcsuite.harness.fuzz.MUTATIONS`), case i with
a generator seeded by (seed, model, i), so any case can be replayed. Every
case must decode to an image of the declared size or be refused with one
clean line (`fuzz.check`). A contract violation or a hang refused by the
range-decoding deadline is written to the regression corpus
(tests/fuzz_corpus/, replayed by tests/test_fuzz.py).

Models, checkpoints and the seed file are made once per process; models
run eagerly, so no case retraces anything.

A hung TFC op cannot be stopped: its thread would spin for the rest of the
run. So each model runs in a child process that stops at a hang, and the
parent starts a new child from the next case. A child also saves each case
before decoding it: if it dies (a crash), or a watchdog ends it at a case
that no deadline stopped, that case is a violation and goes to the corpus.

Results (cases, wall-clock rate, CPU per case, worst case, peak RSS,
outcomes by mutation, failures) go to benchmarks/results/fuzz.{json,md},
merged with the rows of other models.

Usage (long: run it niced on a shared machine; one model per process):
  TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 nice -n 5 \
      python benchmarks/fuzz.py --data_dir DIR/kodak \
      [--models balle17 ...] [--cases 10000] [--max_minutes 100]
"""

import argparse
import collections
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from tfcsuite import limits
from tfcsuite.harness import benchmark_runs
from tfcsuite.harness.environment import cpu_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "tests", "fuzz_corpus")
HANG = "did not end within"


# A case still running after this long (plus the time a legitimate decode
# of its declared pixels may take on a loaded machine) was stopped by no
# deadline (the range-decoding one is 10 s plus 2 us per symbol): a hang.
UNGUARDED_HANG_SECONDS = 300.
UNGUARDED_HANG_SECONDS_PER_PIXEL = 1e-4


def _watchdog_seconds(data):
  from tfcsuite import container
  try:
    parsed = container.unpack(data)
  except container.ContainerError:
    return UNGUARDED_HANG_SECONDS
  return (UNGUARDED_HANG_SECONDS +
          UNGUARDED_HANG_SECONDS_PER_PIXEL * parsed.height * parsed.width)


class _ChildRun:
  """One child's counts, written as JSON when it stops (at the end, at a
  refused hang, or by the watchdog at an unguarded one)."""

  def __init__(self, args):
    self.args, self.index = args, args.start
    self.counts = collections.defaultdict(collections.Counter)
    self.failures, self.worst, self.worst_cpu = [], 0., 0.
    self.current = None  # (kind, data, start) of the case being decoded.
    self.start, self.cpu_start = time.perf_counter(), time.process_time()
    self.lock = threading.Lock()

  def record(self, kind, outcome, data=None, error=None):
    self.counts[kind][outcome] += 1
    if data is not None:
      _save(self.args.corpus, f"{self.args.child}-{kind}-{self.args.seed}-"
                              f"{self.index}.tfci", data)
    if error:
      self.failures.append(dict(case=self.index, kind=kind,
                                error=str(error)[:300]))

  def write(self, next_case):
    with open(self.args.json, "w") as f:
      json.dump(dict(
          next=next_case, seconds=time.perf_counter() - self.start,
          cpu_seconds=time.process_time() - self.cpu_start,
          worst_case_seconds=self.worst, worst_case_cpu_seconds=self.worst_cpu,
          peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
          failures=self.failures,
          counts={k: dict(v) for k, v in self.counts.items()}), f)

  def watch(self):
    """Ends the process at a case no deadline stopped (a hung op cannot be
    interrupted), recording it as a violation."""
    while True:
      time.sleep(1.)
      with self.lock:
        if self.current and (time.perf_counter() - self.current[2] >
                             self.current[3]):
          kind, data, _, seconds = self.current
          self.record(kind, "violation", data, f"did not end within "
                      f"{seconds:.0f} s (no deadline)")
          self.write(self.index + 1)
          os._exit(0)  # pylint: disable=protected-access


_STOP = []  # Not empty once SIGTERM came: the case in progress ends the run.
_CHILDREN = []  # The parent's running child process.


def _stop(*_):
  """SIGTERM: the child ends after its case, the parent after its child
  (whose counts it keeps): `kill PARENT` stops a run with honest counts."""
  _STOP.append(True)
  for child in _CHILDREN:
    child.send_signal(signal.SIGTERM)


def run_child(args):
  """Fuzzes one model from case --start; writes its counts to --json."""
  from tfcsuite import coding_commands, image_io
  from tfcsuite.harness import fuzz
  image = image_io.read_image(os.path.join(args.data_dir, "kodim23.png"))
  models = coding_commands.CodingModels()
  valid, layout = fuzz.valid_file(args.child, image[:64, :96], models)
  run = _ChildRun(args)
  threading.Thread(target=run.watch, daemon=True).start()
  signal.signal(signal.SIGTERM, _stop)
  for run.index in range(args.start, args.cases):
    rng = random.Random(f"{args.seed}:{args.child}:{run.index}")
    kind, data = fuzz.mutate(valid, rng, layout)
    if time.time() > args.stop_at or _STOP:
      break
    _save_case(os.path.dirname(args.json), run.index, kind, data)
    with run.lock:
      run.current = (kind, data, time.perf_counter(), _watchdog_seconds(data))
    cpu = time.process_time()
    try:
      outcome = fuzz.check(data, models, args.max_pixels)
    except fuzz.ContractViolation as error:
      run.record(kind, "violation", data, error)
      continue
    finally:
      with run.lock:
        run.current = None
    run.worst = max(run.worst, outcome.seconds)
    run.worst_cpu = max(run.worst_cpu, time.process_time() - cpu)
    if HANG in outcome.message:
      # Its thread spins on: the next child goes on from the next case.
      run.record(kind, "hang refused", data)
      return run.write(run.index + 1)
    run.record(kind, "decoded" if outcome.decoded else "refused")
  else:
    run.index = args.cases
  run.write(run.index)


def _save(folder, name, data):
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, name), "wb") as f:
    f.write(data)


def _save_case(folder, index, kind, data):
  """The case about to be decoded, for the parent if this process dies."""
  with open(os.path.join(folder, "case.tfci"), "wb") as f:
    f.write(data)
  with open(os.path.join(folder, "case"), "w") as f:
    f.write(f"{index} {kind}")


def _merge(total, child):
  """Adds a child's report to the model's `total`."""
  for key in ("seconds", "cpu_seconds"):
    total[key] += child[key]
  for key in ("worst_case_seconds", "worst_case_cpu_seconds", "peak_rss_mib"):
    total[key] = max(total[key], child[key])
  total["children"] += 1
  total["failures"] += child["failures"]
  for kind, outcomes in child["counts"].items():
    merged = collections.Counter(total["counts"].get(kind, {}))
    merged.update(outcomes)
    total["counts"][kind] = dict(merged)


def _crashed(model, args, folder, returncode):
  """The report of a child that died at a case (its bytes were saved in
  `folder` before decoding): one violation."""
  if not os.path.exists(os.path.join(folder, "case")):
    sys.exit(f"fuzz.py: error: the {model} child failed before its first "
             f"case (exit status {returncode})")
  with open(os.path.join(folder, "case")) as f:
    index, kind = f.read().split()
  os.makedirs(args.corpus, exist_ok=True)
  shutil.copy(os.path.join(folder, "case.tfci"), os.path.join(
      args.corpus, f"{model}-{kind}-{args.seed}-{index}.tfci"))
  return dict(next=int(index) + 1, seconds=0., cpu_seconds=0.,
              worst_case_seconds=0., worst_case_cpu_seconds=0.,
              peak_rss_mib=0., counts={kind: {"violation": 1}},
              failures=[dict(case=int(index), kind=kind, error=(
                  f"the process died (exit status {returncode})"))])


def fuzz_model(model, args):
  """Runs children until `args.cases` cases of `model` are done, or the
  time budget is spent."""
  total = dict(model=model, cases=0, seconds=0., cpu_seconds=0.,
               worst_case_seconds=0., worst_case_cpu_seconds=0.,
               peak_rss_mib=0., children=0, failures=[], counts={})
  start, stop_at = 0, time.time() + args.max_minutes * 60
  with tempfile.TemporaryDirectory() as folder:
    while start < args.cases and time.time() < stop_at and not _STOP:
      report = os.path.join(folder, "child.json")
      for name in ("child.json", "case"):
        if os.path.exists(os.path.join(folder, name)):
          os.remove(os.path.join(folder, name))
      child = subprocess.Popen(
          [sys.executable, __file__, "--child", model, "--start", str(start),
           "--cases", str(args.cases), "--seed", str(args.seed),
           "--stop_at", str(stop_at), "--max_pixels", str(args.max_pixels),
           "--data_dir", args.data_dir,
           "--corpus", args.corpus, "--json", report],
          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
      _CHILDREN[:] = [child]
      returncode = child.wait()
      _CHILDREN.clear()
      if not os.path.exists(report) and _STOP:
        break  # Stopped before its first case.
      if os.path.exists(report):
        with open(report) as f:
          child = json.load(f)
      else:
        child = _crashed(model, args, folder, returncode)
      total["cases"] += child["next"] - start
      _merge(total, child)
      start = child["next"]
  total["cases_per_second"] = round(total["cases"] /
                                    max(total["seconds"], 1e-9), 2)
  total["cpu_seconds_per_case"] = round(total["cpu_seconds"] /
                                        max(total["cases"], 1), 4)
  print(json.dumps({k: v for k, v in total.items() if k != "counts"}),
        flush=True)
  return total


def _count(outcomes, name):
  return f"{outcomes[name]:,}" if name in outcomes else "n/a"


def _cell(run, key, form):
  return format(run[key], form) if key in run else "n/a"


def markdown(result):
  lines = ["# Decoder fuzzing", "", f"CPU: {result['cpu']} (2 cores shared "
           f"with training runs at a higher priority). Rates are wall-clock "
           f"and depend on that load; CPU ms per case does much less. Each "
           f"row's command, commit, niceness and TensorFlow threads are in "
           f"fuzz.json.", "",
           "| model | cases | cases/s | CPU ms/case | worst case s (wall / "
           "CPU) | peak RSS MiB | decoded | refused | hangs refused | "
           "violations | date |", "|---|---|---|---|---|---|---|---|---|---|---|"]
  for run in result["models"]:
    outcome = collections.Counter()
    for counts in run["counts"].values():
      outcome.update(counts)
    cpu_ms = (f"{1000 * run['cpu_seconds_per_case']:.1f}"
              if "cpu_seconds_per_case" in run else "n/a")
    limit = run.get("max_pixels", limits.MAX_PIXELS)
    name = run["model"] + (f" (--max_pixels {limit:,})"
                           if limit != limits.MAX_PIXELS else "")
    lines.append(
        f"| {name} | {run['cases']:,} | {run['cases_per_second']} | "
        f"{cpu_ms} | {run['worst_case_seconds']:.2f} / "
        f"{_cell(run, 'worst_case_cpu_seconds', '.2f')} | "
        f"{_cell(run, 'peak_rss_mib', '.0f')} | {_count(outcome, 'decoded')} | "
        f"{_count(outcome, 'refused')} | {outcome['hang refused']} | "
        f"{outcome['violation']} | {run.get('date', '')} |")
  return "\n".join(lines) + "\n"


def main():
  parser = benchmark_runs.parser(__doc__, "fuzz")
  parser.add_argument("--cases", type=int, default=10000)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--corpus", default=CORPUS)
  parser.add_argument("--child", help=argparse.SUPPRESS)
  parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
  parser.add_argument("--max_minutes", type=float, default=float("inf"),
                      help="Stop each model after this long (the results "
                           "then hold the cases done).")
  parser.add_argument("--max_pixels", type=int, default=limits.MAX_PIXELS,
                      help="As decompress --max_pixels: larger declared "
                           "images are refused (a model without shape "
                           "fields decodes any declared size, at a cost "
                           "that grows with it).")
  parser.add_argument("--json", help=argparse.SUPPRESS)
  parser.add_argument("--stop_at", type=float, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    return run_child(args)
  from tfcsuite import zoo
  signal.signal(signal.SIGTERM, _stop)
  conditions = benchmark_runs.run_conditions()
  for name in args.models or sorted(zoo.MODEL_SCRIPTS):
    if _STOP:
      break
    row = benchmark_runs.run_row(fuzz_model(name, args), conditions)
    row.update(command=" ".join(sys.argv), max_pixels=args.max_pixels)
    # Re-read just before writing: another fuzz.py may have written meanwhile.
    result = dict(cpu=cpu_model(),
                  models=benchmark_runs.merge_rows(args.out, [row]))
    benchmark_runs.write_results(args.out, result, markdown(result))


if __name__ == "__main__":
  main()
