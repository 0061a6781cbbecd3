#!/usr/bin/env python3
"""Coverage-guided decoder fuzzing with atheris (libFuzzer).

Optional: needs `pip install atheris`; no test requires it. Where
benchmarks/fuzz.py replays seeded mutations of one model's file, here
libFuzzer evolves its own inputs, guided by the coverage of the Python code
of tfcsuite and the model scripts, in one process for several models: it
starts from each model's file of a 64x96 Kodak crop, and a custom mutator
makes, at random, a libFuzzer mutation of the whole file, of one payload
string repacked with a fresh CRC (inputs that reach the range decoder), or
one of `tfcsuite.harness.fuzz.MUTATIONS`.

Every input must pass `fuzz.check` (an image of the declared size, or one
clean line). A violation stops libFuzzer, which writes the input to
tests/fuzz_corpus/atheris-crash-<sha1>; so does a time-out (-timeout, 300 s
here) or an allocation over -rss_limit_mb (2048 by default). A hang refused
by the range-decoding deadline is saved to the corpus and ends the run (its
thread would spin on).

Results (cases and outcomes by the model a file names, rate, libFuzzer's
exit status, files it added to the corpus) go to
benchmarks/results/fuzz_atheris.{json,md}.

Usage (long: run it niced on a shared machine; flags after -- go to
libFuzzer, e.g. -runs or -max_total_time):
  nice -n 5 python benchmarks/fuzz_atheris.py --data_dir DIR/kodak \
      [--models balle17 ...] -- -max_total_time=300
"""

import argparse
import collections
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "tests", "fuzz_corpus")


def _load(names):
  """Imports tfcsuite and the models' scripts under atheris's coverage
  instrumentation; (fuzz module, container module, models cache)."""
  import atheris
  with atheris.instrument_imports(
      include=["tfcsuite", *(f"tfcsuite_models_{name}" for name in names)]):
    from tfcsuite import coding_commands, container, zoo
    from tfcsuite.harness import fuzz
    for name in names:
      zoo.load_script(name)
  return fuzz, container, coding_commands.CodingModels()


class Target:
  """The fuzz target and its custom mutator, with outcome counts by the
  model a file names ("not a container" when it does not parse)."""

  def __init__(self, args):
    import atheris
    from tfcsuite import image_io
    self.atheris, self.args = atheris, args
    self.fuzz, self.container, self.models = _load(args.models)
    image = image_io.read_image(os.path.join(args.data_dir, "kodim23.png"))
    self.valid, self.layouts = {}, {}
    for name in args.models:
      self.valid[name], self.layouts[name] = self.fuzz.valid_file(
          name, image[:64, :96], self.models)
    self.counts = collections.defaultdict(collections.Counter)
    self.cases, self.start = 0, time.perf_counter()

  def _parsed(self, data):
    try:
      parsed = self.container.unpack(data)
    except Exception:  # pylint: disable=broad-except
      return None
    return parsed if parsed.model in self.layouts else None

  def mutate(self, data, max_size, seed):
    rng = random.Random(seed)
    parsed = self._parsed(data)
    choice = rng.randrange(3) if parsed else 0  # Else bytes only.
    if choice == 1 and parsed.strings:
      index = rng.randrange(len(parsed.strings))
      string = parsed.strings[index]
      parsed.strings[index] = self.atheris.Mutate(string, len(string) + 64)
      return self.container.pack(parsed)
    if choice == 2:
      return self.fuzz.mutate(data, rng, self.layouts[parsed.model])[1]
    return self.atheris.Mutate(data, max_size)

  def test_one_input(self, data):
    parsed = self._parsed(data)
    model = parsed.model if parsed else "not a container"
    outcome = self.fuzz.check(data, self.models,  # Raises on a violation.
                              self.args.max_pixels)
    self.cases += 1
    if "did not end within" in outcome.message:
      self.counts[model]["hang refused"] += 1
      name = f"atheris-{model}-hang-{hashlib.sha1(data).hexdigest()[:12]}"
      with open(os.path.join(self.args.corpus, name + ".tfci"), "wb") as f:
        f.write(data)
      self.report()
      os._exit(0)  # pylint: disable=protected-access
    self.counts[model]["decoded" if outcome.decoded else "refused"] += 1
    self.report()

  def report(self):
    """The counts so far, in --json, after every case (libFuzzer exits
    without returning)."""
    with open(self.args.json, "w") as f:
      json.dump(dict(cases=self.cases,
                     seconds=time.perf_counter() - self.start,
                     counts={k: dict(v) for k, v in self.counts.items()}), f)


def run_child(args, libfuzzer_flags):
  import atheris
  target = Target(args)
  seeds = os.path.join(os.path.dirname(args.json), "seeds")
  os.makedirs(seeds, exist_ok=True)
  for name, data in target.valid.items():
    with open(os.path.join(seeds, f"{name}.tfci"), "wb") as f:
      f.write(data)
  atheris.Setup(
      [sys.argv[0], "-timeout=300", f"-artifact_prefix={args.corpus}/atheris-",
       *libfuzzer_flags, seeds],
      target.test_one_input, custom_mutator=target.mutate)
  atheris.Fuzz()


def fuzz_models(args, libfuzzer_flags):
  """Runs the fuzzer in a child process; its results row."""
  with tempfile.TemporaryDirectory() as folder:
    report = os.path.join(folder, "counts.json")
    before = set(os.listdir(args.corpus))
    returncode = subprocess.run(
        [sys.executable, __file__, "--child", "--models", *args.models,
         "--max_pixels", str(args.max_pixels),
         "--data_dir", args.data_dir, "--corpus", args.corpus,
         "--json", report, "--", *libfuzzer_flags],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).returncode
    counts = dict(cases=0, seconds=0., counts={})  # If none was tried.
    if os.path.exists(report):
      with open(report) as f:
        counts = json.load(f)
  row = dict(model=" ".join(args.models), **counts)
  row.update(cases_per_second=round(row["cases"] / max(row["seconds"], 1e-9),
                                    2),
             max_pixels=args.max_pixels,
             exit_status=returncode, libfuzzer_flags=libfuzzer_flags,
             new_corpus_files=sorted(set(os.listdir(args.corpus)) - before))
  return row


def markdown(result):
  lines = ["# Decoder fuzzing with atheris (libFuzzer)", "",
           f"CPU: {result['cpu']} (2 cores shared with training runs). One "
           f"process fuzzes the files of several models; cases are counted "
           f"by the model a file names. Each run's command, commit, "
           f"niceness and libFuzzer flags are in fuzz_atheris.json; exit "
           f"status 0: libFuzzer ended its runs without a finding.", "",
           "| run | file of | cases | decoded | refused | hangs refused |",
           "|---|---|---|---|---|---|"]
  for row in result["models"]:
    run = (f"{row['date']}, {row['cases']:,} cases at "
           f"{row['cases_per_second']}/s, exit status {row['exit_status']}, "
           f"new corpus files: {', '.join(row['new_corpus_files']) or 'none'}")
    for model, counts in sorted(row["counts"].items()):
      counts = collections.Counter(counts)
      lines.append(f"| {run} | {model} | {sum(counts.values()):,} | "
                   f"{counts['decoded']:,} | {counts['refused']:,} | "
                   f"{counts['hang refused']} |")
      run = ""
  return "\n".join(lines) + "\n"


def main():
  argv = sys.argv[1:]
  libfuzzer_flags = argv[argv.index("--") + 1:] if "--" in argv else []
  argv = argv[:argv.index("--")] if "--" in argv else argv
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", required=True, help="Kodak PNG folder.")
  parser.add_argument("--models", nargs="+",
                      help="Default: every registered model.")
  parser.add_argument("--max_pixels", type=int, default=1 << 20,
                      help="As decompress --max_pixels (default: "
                           "tfcsuite.harness.fuzz.QUICK_MAX_PIXELS).")
  parser.add_argument("--corpus", default=CORPUS)
  parser.add_argument("--out", default=os.path.join(
      REPO, "benchmarks", "results", "fuzz_atheris"),
                      help="Results path without extension.")
  parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--json", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  os.makedirs(args.corpus, exist_ok=True)
  if args.child:  # Its parent names the models: tfcsuite is not imported
    return run_child(args, libfuzzer_flags)  # before instrumenting it.
  from tfcsuite import zoo
  args.models = args.models or sorted(zoo.MODEL_SCRIPTS)
  from tfcsuite.harness import benchmark_runs
  from tfcsuite.harness.environment import cpu_model
  conditions = benchmark_runs.run_conditions()
  row = benchmark_runs.run_row(fuzz_models(args, libfuzzer_flags), conditions)
  row["command"] = " ".join(sys.argv)
  print(json.dumps({k: v for k, v in row.items() if k != "counts"}))
  result = dict(cpu=cpu_model(),
                models=benchmark_runs.merge_rows(args.out, [row]))
  benchmark_runs.write_results(args.out, result, markdown(result))


if __name__ == "__main__":
  main()
