#!/usr/bin/env python3
"""Time to quality of balle17 at lambda 0.01: training recipes under one budget.

Issue 20, "the recipe": which recipe (batch and patch size, warm-up, peak
learning rate, a moving average of the weights, gradient clipping) reaches
the lowest Kodak rate-distortion loss L = mean bpp + lambda * mean MSE within
the same budget of PROCESS CPU time (the machine is shared, so the CPU time
of the training process, all its threads, is the fair clock; wall time is
recorded too).

Each recipe trains `models/balle17.py train --lambda 0.01` from scratch on
BSDS500 (train + test; val for validation), with a fixed --seed, one
TensorFlow thread and the default warmup_cosine schedule. That schedule needs
the step count up front, so a short calibration run of the same recipe
(counted separately) measures its CPU seconds per epoch of --calibration_steps
steps (its second epoch) and its fixed cost (start-up, tracing, export); the step count is
planned so that the run ends just under the budget (per-epoch overhead is
charged to the steps, so the estimate errs short). The exported checkpoint is
then measured by the Kodak harness (benchmarks/kodak.py, 24 images).

Results: benchmarks/results/time_to_quality/recipes.{json,md}, updated after
every recipe. A recipe already in recipes.json is skipped (the script resumes
where it stopped); a training run interrupted midway is started again from
scratch, so that its clock is honest. Training state is under
runs/time_to_quality/ (git-ignored).
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from tfcsuite.harness import environment  # pylint: disable=wrong-import-position
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import time_to_quality_table as table  # pylint: disable=wrong-import-position

LAMBDA = 0.01
RESULTS = os.path.join(REPO, "benchmarks", "results", "time_to_quality")
RUNS = os.path.join(REPO, "runs", "time_to_quality")


# (name, what it tests, flags beyond the defaults), in priority order.
RECIPES = (
    ("defaults_8x256", "the defaults: 8x256², warm-up 100, peak lr 1e-3", ()),
    ("8x128_wu200", "8x128², warm-up 200",
     ("--patchsize", "128", "--warmup_steps", "200")),
    ("8x64_wu200", "8x64², warm-up 200",
     ("--patchsize", "64", "--warmup_steps", "200")),
    ("8x128_wu200_ema", "8x128², warm-up 200, weights averaged (0.999)",
     ("--patchsize", "128", "--warmup_steps", "200",
      "--ema_momentum", "0.999")),
    ("8x128_lr2e-3_wu400", "8x128², peak lr 2e-3, warm-up 400",
     ("--patchsize", "128", "--learning_rate", "2e-3",
      "--warmup_steps", "400")),
    ("16x64_wu200", "16x64², warm-up 200",
     ("--batchsize", "16", "--patchsize", "64", "--warmup_steps", "200")),
    ("8x128_wu200_clip1", "8x128², warm-up 200, global gradient norm <= 1",
     ("--patchsize", "128", "--warmup_steps", "200",
      "--global_clipnorm", "1")),
)
TARGET_L = 1.55


def _parse_args():
  parser = argparse.ArgumentParser(
      description=__doc__.split("\n\n")[0],
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("--recipes", nargs="+", default=None,
                      choices=[r[0] for r in RECIPES],
                      help="Recipes to run (default: all, in priority order).")
  parser.add_argument("--budget", type=float, default=900.,
                      help="Process CPU seconds of each training run.")
  parser.add_argument("--calibration_steps", type=int, default=40,
                      help="Steps per epoch of the 2-epoch calibration run.")
  parser.add_argument("--parallel", type=int, default=1,
                      help="Recipes run at the same time (each one thread).")
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--data_dir", default=os.path.join(
      REPO, "..", "shared", "data"),
      help="Folder holding train/bsds500/{train,test,val} and kodak/.")
  parser.add_argument("--out", default=RESULTS,
                      help="Folder of recipes.json and recipes.md.")
  parser.add_argument("--runs", default=RUNS,
                      help="Folder of the training runs and their logs.")
  parser.add_argument("--rewrite", action="store_true",
                      help="Only rewrite recipes.md from recipes.json.")
  return parser.parse_args()


def _environment():
  env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1",
             TF_NUM_INTEROP_THREADS="1", PYTHONUNBUFFERED="1")
  env["TF_CPP_MIN_LOG_LEVEL"] = "1"
  return env


def _epochs_done(train_path):
  try:
    with open(os.path.join(train_path, "epochs.jsonl")) as f:
      return sum(1 for line in f if line.strip())
  except OSError:
    return 0


def measure(command, log_path, train_path=None):
  """Runs `command`; its CPU seconds (user + system, all threads), wall
  seconds, and the CPU seconds at the end of each epoch of `train_path`."""
  start = time.monotonic()
  with open(log_path, "w") as log:
    process = subprocess.Popen(command, cwd=REPO, env=_environment(),
                               stdout=log, stderr=subprocess.STDOUT)
  epoch_cpu = []
  try:
    watched = psutil.Process(process.pid)
    while True:
      pid, status, usage = os.wait4(process.pid, os.WNOHANG)
      if pid:
        break
      if train_path and _epochs_done(train_path) > len(epoch_cpu):
        try:
          times = watched.cpu_times()
          epoch_cpu.append(times.user + times.system)
        except psutil.Error:
          pass
      time.sleep(0.1)
  except BaseException:
    process.kill()
    raise
  process.returncode = os.waitstatus_to_exitcode(status)
  if process.returncode != 0:
    raise RuntimeError(f"{' '.join(command)} failed "
                       f"({process.returncode}); see {log_path}")
  return dict(cpu=usage.ru_utime + usage.ru_stime,
              wall=time.monotonic() - start, epoch_cpu=epoch_cpu)


def _train_command(args, flags, train_path, epochs, steps_per_epoch):
  bsds = os.path.join(args.data_dir, "train", "bsds500")
  return [sys.executable, os.path.join("models", "balle17.py"), "train",
          "--lambda", str(LAMBDA),
          "--train_glob", os.path.join(bsds, "train", "*.jpg"),
          os.path.join(bsds, "test", "*.jpg"),
          "--validation_glob", os.path.join(bsds, "val", "*.jpg"),
          "--seed", str(args.seed), "--train_path", train_path,
          "--epochs", str(epochs), "--steps_per_epoch", str(steps_per_epoch),
          *flags]


def calibrate(args, name, flags):
  """{cpu per step, fixed cpu, ...} of the recipe, from 2 short epochs."""
  folder = os.path.join(args.runs, name)
  path = os.path.join(folder, "calibration.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  train_path = os.path.join(folder, "calibration")
  shutil.rmtree(train_path, ignore_errors=True)
  steps = args.calibration_steps
  measured = measure(_train_command(args, flags, train_path, 2, steps),
                     os.path.join(folder, "calibration.log"), train_path)
  if len(measured["epoch_cpu"]) < 2:
    raise RuntimeError(f"{name}: calibration saw "
                       f"{len(measured['epoch_cpu'])} of 2 epochs end")
  # The second epoch alone: the first includes start-up and tracing.
  per_epoch = measured["epoch_cpu"][1] - measured["epoch_cpu"][0]
  result = dict(steps_per_epoch=steps, cpu_per_step=per_epoch / steps,
                fixed_cpu=measured["cpu"] - 2 * per_epoch,
                cpu=measured["cpu"], wall=measured["wall"])
  with open(path, "w") as f:
    json.dump(result, f, indent=2)
  return result


def plan(budget, calibration):
  """(epochs, steps per epoch): about 100 steps per epoch, ending within the
  budget."""
  steps = int((budget - calibration["fixed_cpu"]) / calibration["cpu_per_step"])
  if steps < 1:
    raise RuntimeError("the budget does not cover the start-up cost")
  epochs = max(1, round(steps / 100))
  return epochs, steps // epochs


def _kodak(args, checkpoint_path, out):
  """(bpp, PSNR, MSE) means over Kodak of the checkpoint."""
  command = [sys.executable, os.path.join("benchmarks", "kodak.py"),
             "--models", "balle17", "--codecs", "none",
             "--checkpoint", f"balle17={checkpoint_path}",
             "--no_shipped_checkpoints",
             "--data_dir", os.path.join(args.data_dir, "kodak"),
             "--out", out, "--quiet"]
  measure(command, out + ".log")
  with open(os.path.join(out, "kodak.json")) as f:
    results = json.load(f)["curves"][0]["results"]
  return results["bpp"][0], results["psnr-rgb"][0], results["mse-rgb"][0]


def run_recipe(args, name, description, flags):
  folder = os.path.join(args.runs, name)
  os.makedirs(folder, exist_ok=True)
  git = environment.git_state()  # The code that runs.
  calibration = calibrate(args, name, flags)
  epochs, steps_per_epoch = plan(args.budget, calibration)
  train_path = os.path.join(folder, "run")
  shutil.rmtree(train_path, ignore_errors=True)  # An honest clock: anew.
  training = measure(
      _train_command(args, flags, train_path, epochs, steps_per_epoch),
      os.path.join(folder, "train.log"))
  checkpoint_path = os.path.join(train_path, "checkpoint")
  with open(os.path.join(checkpoint_path, "manifest.json")) as f:
    steps = json.load(f)["provenance"]["steps"]
  bpp, psnr, mse = _kodak(args, checkpoint_path, os.path.join(folder, "kodak"))
  return dict(
      recipe=name, description=description, flags=list(flags),
      epochs=epochs, steps_per_epoch=steps_per_epoch, steps=steps,
      cpu_seconds=round(training["cpu"], 1),
      wall_seconds=round(training["wall"], 1),
      calibration=dict(steps=2 * calibration["steps_per_epoch"],
                       cpu_per_step=round(calibration["cpu_per_step"], 4),
                       fixed_cpu=round(calibration["fixed_cpu"], 1),
                       cpu_seconds=round(calibration["cpu"], 1)),
      kodak=dict(bpp=round(bpp, 4), psnr=round(psnr, 3), mse=round(mse, 3),
                 L=round(bpp + LAMBDA * mse, 4)),
      cpu=environment.cpu_model(),
      date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
      git=git,
  )


def _write(args, records):
  table.write(args.out, records, args.budget, RECIPES, TARGET_L, LAMBDA)


def main():
  args = _parse_args()
  if args.rewrite:
    _write(args, table.read(args.out))
    return 0
  done = {r["recipe"] for r in table.read(args.out)}
  todo = [r for r in RECIPES if (args.recipes is None or r[0] in args.recipes)
          and r[0] not in done]
  for name in sorted(done):
    print(f"{name}: already measured, skipped")
  lock = threading.Lock()

  def one(recipe):
    try:
      record = run_recipe(args, *recipe)
    except (RuntimeError, OSError) as error:  # The others go on.
      print(f"{recipe[0]}: {error}", file=sys.stderr, flush=True)
      return
    with lock:  # Re-read: another worker may have written meanwhile.
      records = [r for r in table.read(args.out)
                 if r["recipe"] != record["recipe"]]
      _write(args, records + [record])
    print(f"{record['recipe']}: L {record['kodak']['L']:.3f} after "
          f"{record['steps']:,} steps, {record['cpu_seconds']:.0f} CPU s",
          flush=True)

  with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
    for future in [pool.submit(one, recipe) for recipe in todo]:
      future.result()
  return 0


if __name__ == "__main__":
  sys.exit(main())
