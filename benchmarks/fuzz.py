#!/usr/bin/env python3
"""Long decoder fuzzing: thousands of mutated files per model, one process.

For each model, a 64x96 crop of a Kodak image is compressed with its default
checkpoint and then mutated (`tfcsuite.harness.fuzz.MUTATIONS`), case i with
a generator seeded by (seed, model, i), so any case can be replayed. Every
case must decode to an image of the declared size or be refused with one
clean line (`fuzz.check`). A contract violation or a hang refused by the
range-decoding deadline is written to the regression corpus
(tests/fuzz_corpus/, replayed by tests/test_fuzz.py).

A hung TFC op cannot be stopped: its thread would spin for the rest of the
run. So each model runs in a child process that stops at a hang, and the
parent starts a new child from the next case.

Results (cases, rate, outcomes by mutation, failures) go to
benchmarks/results/fuzz.{json,md}.

Usage (long: run it niced on a shared machine):
  nice -n 19 python benchmarks/fuzz.py --data_dir DIR/kodak \
      [--models balle17 ...] [--cases 10000]
"""

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time

from tfcsuite.harness import benchmark_runs
from tfcsuite.harness.environment import cpu_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "tests", "fuzz_corpus")
HANG = "did not end within"


def run_child(args):
  """Fuzzes one model from case --start; writes its counts to --json."""
  from tfcsuite import coding_commands, image_io
  from tfcsuite.harness import fuzz
  image = image_io.read_image(os.path.join(args.data_dir, "kodim23.png"))
  models = coding_commands.CodingModels()
  valid, layout = fuzz.valid_file(args.child, image[:64, :96], models)
  counts = collections.defaultdict(collections.Counter)
  failures, index, worst = [], args.start, 0.
  start = time.perf_counter()
  for index in range(args.start, args.cases):
    rng = random.Random(f"{args.seed}:{args.child}:{index}")
    kind, data = fuzz.mutate(valid, rng, layout)
    name = f"{args.child}-{kind}-{args.seed}-{index}.tfci"
    try:
      outcome = fuzz.check(data, models)
    except fuzz.ContractViolation as error:
      failures.append(dict(case=index, kind=kind, error=str(error)[:300]))
      counts[kind]["violation"] += 1
      _save(args.corpus, name, data)
      continue
    worst = max(worst, outcome.seconds)
    if HANG in outcome.message:
      counts[kind]["hang refused"] += 1
      _save(args.corpus, name, data)
      index += 1
      break
    counts[kind]["decoded" if outcome.decoded else "refused"] += 1
  else:
    index = args.cases
  with open(args.json, "w") as f:
    json.dump(dict(next=index, seconds=time.perf_counter() - start,
                   worst_case_seconds=worst, failures=failures,
                   counts={k: dict(v) for k, v in counts.items()}), f)


def _save(folder, name, data):
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, name), "wb") as f:
    f.write(data)


def fuzz_model(model, args):
  """Runs children until `args.cases` cases of `model` are done."""
  total = dict(model=model, cases=0, seconds=0., worst_case_seconds=0.,
               children=0, failures=[], counts={})
  start = 0
  with tempfile.TemporaryDirectory() as folder:
    while start < args.cases:
      report = os.path.join(folder, "child.json")
      subprocess.run(
          [sys.executable, __file__, "--child", model, "--start", str(start),
           "--cases", str(args.cases), "--seed", str(args.seed),
           "--data_dir", args.data_dir, "--corpus", args.corpus,
           "--json", report], check=True,
          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
      with open(report) as f:
        child = json.load(f)
      total["cases"] += child["next"] - start
      total["seconds"] += child["seconds"]
      total["worst_case_seconds"] = max(total["worst_case_seconds"],
                                        child["worst_case_seconds"])
      total["children"] += 1
      total["failures"] += child["failures"]
      for kind, outcomes in child["counts"].items():
        merged = collections.Counter(total["counts"].get(kind, {}))
        merged.update(outcomes)
        total["counts"][kind] = dict(merged)
      start = child["next"]
  total["cases_per_second"] = round(total["cases"] / total["seconds"], 2)
  print(json.dumps({k: v for k, v in total.items() if k != "counts"}),
        flush=True)
  return total


def _count(outcomes, name):
  return f"{outcomes[name]:,}" if name in outcomes else "n/a"


def markdown(result):
  lines = ["# Decoder fuzzing", "", f"CPU: {result['cpu']}; each model's "
           f"command is in fuzz.json. Rates are wall-clock, niced (19) on a "
           f"2-core machine shared with training runs.", "",
           "| model | cases | cases/s | worst case (s) | decoded | refused | "
           "hangs refused | violations | date |",
           "|---|---|---|---|---|---|---|---|---|"]
  for run in result["models"]:
    outcome = collections.Counter()
    for counts in run["counts"].values():
      outcome.update(counts)
    lines.append(
        f"| {run['model']} | {run['cases']:,} | {run['cases_per_second']} | "
        f"{run['worst_case_seconds']:.2f} | {_count(outcome, 'decoded')} | "
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
  parser.add_argument("--json", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    return run_child(args)
  from tfcsuite import zoo
  names = args.models or sorted(zoo.MODEL_SCRIPTS)
  # Written after each model; rows of earlier runs for other models are
  # kept (each row has its command and date).
  result = dict(cpu=cpu_model(), models=[])
  if os.path.exists(args.out + ".json"):
    with open(args.out + ".json") as f:
      result["models"] = json.load(f)["models"]
  for name in names:
    row = fuzz_model(name, args)
    row.update(command=" ".join(sys.argv),
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    result["models"] = sorted(
        [r for r in result["models"] if r["model"] != name] + [row],
        key=lambda r: r["model"])
    benchmark_runs.write_results(args.out, result, markdown(result))


if __name__ == "__main__":
  main()
