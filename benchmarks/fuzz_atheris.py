#!/usr/bin/env python3
"""Coverage-guided decoder fuzzing with atheris (libFuzzer), one model.

Optional: needs `pip install atheris`; no test requires it. Where
benchmarks/fuzz.py replays seeded mutations, here libFuzzer evolves its own
inputs, guided by the coverage of the Python code of tfcsuite and the
model's script. It starts from the model's file of a 64x96 Kodak crop;
a custom mutator makes, at random, a libFuzzer mutation of the whole file,
of one payload string repacked with a fresh CRC (inputs that reach the
range decoder), or one of `tfcsuite.harness.fuzz.MUTATIONS`.

Every input must pass `fuzz.check` (an image of the declared size, or one
clean line). A violation stops libFuzzer, which writes the input to
tests/fuzz_corpus/atheris-<model>-crash-<sha1>; so does a time-out
(-timeout, 120 s here) or an allocation over -rss_limit_mb (2048 by
default). A hang refused by the range-decoding deadline is saved to the
corpus and ends the run (its thread would spin on).

Results (cases, rate, outcomes, libFuzzer's exit status, files it added
to the corpus) go to benchmarks/results/fuzz_atheris.{json,md}, merged
with the rows of other models.

Usage (long: run it niced on a shared machine; flags after -- go to
libFuzzer, e.g. -runs or -max_total_time):
  nice -n 10 python benchmarks/fuzz_atheris.py --data_dir DIR/kodak \
      --model balle17 -- -max_total_time=300
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


def _load(model):
  """Imports tfcsuite and the model's script under atheris's coverage
  instrumentation; (fuzz module, container module, models cache, model)."""
  import atheris
  with atheris.instrument_imports(include=["tfcsuite",
                                           f"tfcsuite_models_{model}"]):
    from tfcsuite import coding_commands, container, zoo
    from tfcsuite.harness import fuzz
    zoo.load_script(model)
  return fuzz, container, coding_commands.CodingModels()


class Target:
  """The fuzz target and its custom mutator, with outcome counts."""

  def __init__(self, args):
    import atheris
    from tfcsuite import image_io
    self.atheris, self.args = atheris, args
    self.fuzz, self.container, self.models = _load(args.model)
    image = image_io.read_image(os.path.join(args.data_dir, "kodim23.png"))
    self.valid, self.layout = self.fuzz.valid_file(args.model, image[:64, :96],
                                                   self.models)
    self.counts = collections.Counter()
    self.start = time.perf_counter()

  def mutate(self, data, max_size, seed):
    rng = random.Random(seed)
    choice = rng.randrange(3)
    try:
      parsed = self.container.unpack(data)
    except Exception:  # pylint: disable=broad-except
      parsed, choice = None, 0  # Not a valid container: bytes only.
    if choice == 1 and parsed.strings:
      index = rng.randrange(len(parsed.strings))
      string = parsed.strings[index]
      parsed.strings[index] = self.atheris.Mutate(string, len(string) + 64)
      return self.container.pack(parsed)
    if choice == 2:
      return self.fuzz.mutate(data, rng, self.layout)[1]
    return self.atheris.Mutate(data or self.valid, max_size)

  def test_one_input(self, data):
    outcome = self.fuzz.check(data, self.models)  # Raises on a violation.
    if "did not end within" in outcome.message:
      self.counts["hang refused"] += 1
      name = f"atheris-{self.args.model}-hang-{hashlib.sha1(data).hexdigest()}"
      with open(os.path.join(self.args.corpus, name + ".tfci"), "wb") as f:
        f.write(data)
      self.report()
      os._exit(0)  # pylint: disable=protected-access
    self.counts["decoded" if outcome.decoded else "refused"] += 1
    if sum(self.counts.values()) % 50 == 0:
      self.report()

  def report(self):
    """The counts so far, in --json (libFuzzer exits without returning)."""
    seconds = time.perf_counter() - self.start
    with open(self.args.json, "w") as f:
      json.dump(dict(cases=sum(self.counts.values()), seconds=seconds,
                     counts=dict(self.counts)), f)


def run_child(args, libfuzzer_flags):
  import atheris
  target = Target(args)
  seeds = os.path.join(os.path.dirname(args.json), "seeds")
  os.makedirs(seeds, exist_ok=True)
  with open(os.path.join(seeds, "valid.tfci"), "wb") as f:
    f.write(target.valid)
  atheris.Setup(
      [sys.argv[0], "-timeout=120",
       f"-artifact_prefix={args.corpus}/atheris-{args.model}-",
       *libfuzzer_flags, seeds],
      target.test_one_input, custom_mutator=target.mutate)
  atheris.Fuzz()


def fuzz_model(args, libfuzzer_flags):
  """Runs the fuzzer in a child process; its results row."""
  with tempfile.TemporaryDirectory() as folder:
    report = os.path.join(folder, "counts.json")
    before = set(os.listdir(args.corpus))
    returncode = subprocess.run(
        [sys.executable, __file__, "--child", "--model", args.model,
         "--data_dir", args.data_dir, "--corpus", args.corpus,
         "--json", report, "--", *libfuzzer_flags],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).returncode
    with open(report) as f:
      row = dict(model=args.model, **json.load(f))
  row.update(cases_per_second=round(row["cases"] / row["seconds"], 2),
             exit_status=returncode, libfuzzer_flags=libfuzzer_flags,
             new_corpus_files=sorted(set(os.listdir(args.corpus)) - before))
  return row


def markdown(result):
  lines = ["# Decoder fuzzing with atheris (libFuzzer)", "",
           f"CPU: {result['cpu']} (2 cores shared with training runs). Each "
           f"row's command, commit, niceness and libFuzzer flags are in "
           f"fuzz_atheris.json; exit status 0: libFuzzer ended its runs "
           f"without a finding.", "",
           "| model | cases | cases/s | decoded | refused | hangs refused | "
           "exit status | new corpus files | date |",
           "|---|---|---|---|---|---|---|---|---|"]
  for row in result["models"]:
    counts = collections.Counter(row["counts"])
    lines.append(
        f"| {row['model']} | {row['cases']:,} | {row['cases_per_second']} | "
        f"{counts['decoded']:,} | {counts['refused']:,} | "
        f"{counts['hang refused']} | {row['exit_status']} | "
        f"{', '.join(row['new_corpus_files']) or 'none'} | {row['date']} |")
  return "\n".join(lines) + "\n"


def main():
  argv = sys.argv[1:]
  libfuzzer_flags = argv[argv.index("--") + 1:] if "--" in argv else []
  argv = argv[:argv.index("--")] if "--" in argv else argv
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", required=True, help="Kodak PNG folder.")
  parser.add_argument("--model", required=True)
  parser.add_argument("--corpus", default=CORPUS)
  parser.add_argument("--out", default=os.path.join(
      REPO, "benchmarks", "results", "fuzz_atheris"),
                      help="Results path without extension.")
  parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--json", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  os.makedirs(args.corpus, exist_ok=True)
  if args.child:
    return run_child(args, libfuzzer_flags)
  from tfcsuite.harness import benchmark_runs
  from tfcsuite.harness.environment import cpu_model
  conditions = benchmark_runs.run_conditions()
  row = benchmark_runs.run_row(fuzz_model(args, libfuzzer_flags), conditions)
  row["command"] = " ".join(sys.argv)
  print(json.dumps({k: v for k, v in row.items() if k != "counts"}))
  result = dict(cpu=cpu_model(),
                models=benchmark_runs.merge_rows(args.out, [row]))
  benchmark_runs.write_results(args.out, result, markdown(result))


if __name__ == "__main__":
  main()
