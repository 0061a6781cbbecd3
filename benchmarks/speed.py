#!/usr/bin/env python3
"""Speed and memory of training and coding, measured side by side as ratios.

Two parts, both for every named model at its default configuration:

* `train`: seconds per training step (after warm-up, a fixed in-memory batch,
  so the input pipeline is not measured) for each kernel implementation,
  interleaved round by round so that machine load affects all variants alike;
  printed as ratios to TFC's implementation.
* `codec`: wall time and peak RSS of `compress` and `decompress` as separate
  processes on a Kodak image, next to the floor `import tensorflow,
  tensorflow_compression`, plus the split of an in-process run into model
  load, first call (tracing) and steady state.

Usage:
  python benchmarks/speed.py --data_dir DIR/kodak [--parts train,codec]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from tfcsuite import count
from tfcsuite.harness import benchmark_runs
from tfcsuite.harness.environment import cpu_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure_process(argv):
  """Runs a process; returns (wall seconds, peak RSS MiB); exits if it fails."""
  measured = benchmark_runs.run_measured(argv)
  if measured.returncode:
    sys.exit(f"error: {' '.join(argv)} failed: {measured.stderr[-500:]}")
  return measured.wall_seconds, measured.peak_rss_mib


def codec_times(model_name, image, repeats):
  """Process times of compress/decompress against the import floor."""
  script = os.path.join(REPO, "models", f"{model_name}.py")
  python = sys.executable
  rows = {"import floor": [], "compress": [], "decompress": []}
  with tempfile.TemporaryDirectory() as tmp:
    packed = os.path.join(tmp, "image.tfci")
    for _ in range(repeats):
      rows["import floor"].append(measure_process(
          [python, "-c", "import tensorflow, tensorflow_compression"]))
      rows["compress"].append(measure_process(
          [python, script, "compress", image, packed, "--overwrite"]))
      rows["decompress"].append(measure_process(
          [python, script, "decompress", packed,
           os.path.join(tmp, "out.png"), "--overwrite"]))
  return {name: dict(wall_s=statistics.median(w for w, _ in runs),
                     peak_rss_mib=max(m for _, m in runs))
          for name, runs in rows.items()}


def in_process_split(model_name, image_path, repeats):
  """Model load, first call (tracing) and steady-state encode/decode times."""
  from tfcsuite import checkpoint, coding, image_io, zoo
  script = zoo.load_script(model_name)
  image = image_io.read_image(image_path)
  start = time.perf_counter()
  ckpt = checkpoint.load(script.default_checkpoint_path(), model_name)
  model = script.coding_model(ckpt)
  load = time.perf_counter() - start
  start = time.perf_counter()
  packed = coding.encode(model, ckpt, image)
  first_encode = time.perf_counter() - start
  start = time.perf_counter()
  coding.decode(model, packed)
  first_decode = time.perf_counter() - start
  encode, decode = [], []
  for _ in range(repeats):
    start = time.perf_counter()
    packed = coding.encode(model, ckpt, image)
    encode.append(time.perf_counter() - start)
    start = time.perf_counter()
    coding.decode(model, packed)
    decode.append(time.perf_counter() - start)
  return dict(load_s=load, first_encode_s=first_encode,
              first_decode_s=first_decode,
              steady_encode_s=statistics.median(encode),
              steady_decode_s=statistics.median(decode))


def train_step_times(model_name, variants, batchsize, patchsize, rounds,
                     steps):
  """Median seconds per training step for each RDFT implementation."""
  import numpy as np
  import tensorflow as tf
  from tfcsuite import layers, zoo
  script = zoo.load_script(model_name)
  config = script.config()  # The model's defaults.
  rng = np.random.default_rng(0)
  batch = tf.constant(rng.uniform(0, 255, (batchsize, patchsize, patchsize, 3)),
                      tf.float32)
  steppers = {}
  for variant in variants:
    layers.set_rdft_implementation(variant)
    tf.keras.utils.set_random_seed(0)
    model = script.training_model(config)
    model.prepare_training(1e-4)
    step = tf.function(model.train_step)
    step(batch)  # Tracing and warm-up.
    step(batch)
    steppers[variant] = step
  layers.set_rdft_implementation("basis")
  times = {variant: [] for variant in variants}
  for _ in range(rounds):
    for variant, step in steppers.items():
      start = time.perf_counter()
      for _ in range(steps):
        result = step(batch)
      float(result["loss"])  # Wait for the last step.
      times[variant].append((time.perf_counter() - start) / steps)
  return {variant: statistics.median(t) for variant, t in times.items()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--models", default="balle17",
                      help="Comma-separated registered models.")
  parser.add_argument("--parts", default="train,codec",
                      help="Comma-separated parts: train, codec.")
  parser.add_argument("--data_dir", default=os.environ.get("TFCS_KODAK_DIR"),
                      help="Kodak folder (for the codec part).")
  parser.add_argument("--image", default="kodim01.png",
                      help="Image of --data_dir that the codec part codes.")
  parser.add_argument("--batchsize", type=int, default=8,
                      help="Training batch of the train part.")
  parser.add_argument("--patchsize", type=int, default=256,
                      help="Patch side of the train part.")
  parser.add_argument("--rounds", type=int, default=3,
                      help="Interleaved rounds of the train part.")
  parser.add_argument("--steps", type=int, default=5,
                      help="Timed steps per round of the train part.")
  parser.add_argument("--repeats", type=int, default=3,
                      help="Processes per measurement of the codec part.")
  parser.add_argument("--out", default=None, help="Write results as JSON.")
  args = parser.parse_args()
  parts = args.parts.split(",")
  unknown = sorted(set(parts) - {"train", "codec"})
  if unknown:
    parser.error(f"--parts: unknown part {unknown[0]!r} (train, codec)")
  if "codec" in parts and not (args.data_dir and os.path.isfile(
      os.path.join(args.data_dir, args.image))):
    sys.exit(f"error: no {args.image} in --data_dir {args.data_dir!r}")

  # Processes first: a child's peak RSS counts the parent's memory at fork
  # time, so the parent must not have imported TensorFlow yet.
  names = args.models.split(",")
  processes = {}
  if "codec" in parts:
    image = os.path.join(args.data_dir, args.image)
    for name in names:
      processes[name] = codec_times(name, image, args.repeats)

  import tensorflow as tf
  threading = tf.config.threading
  report = dict(cpu=cpu_model(), cores=os.cpu_count(),
                tensorflow=tf.__version__,
                intra_op_threads=threading.get_intra_op_parallelism_threads(),
                inter_op_threads=threading.get_inter_op_parallelism_threads(),
                models={})
  print(f"CPU: {report['cpu']} ({report['cores']} cores), TF {tf.__version__}, "
        f"threads intra={report['intra_op_threads']} "
        f"inter={report['inter_op_threads']} (0 = TF's choice)")
  for name in names:
    result = report["models"][name] = {}
    if "train" in parts:
      variants = ("fft", "basis")
      steps = train_step_times(name, variants, args.batchsize, args.patchsize,
                               args.rounds, args.steps)
      result["train_step_s"] = steps
      print(f"\n{name}: training step, batch {args.batchsize}x"
            f"{args.patchsize}², median of {count(args.rounds, 'round')} x "
            f"{count(args.steps, 'step')}")
      for variant, seconds in steps.items():
        print(f"  RDFT kernels by {variant:6s} {seconds:6.3f} s/step  "
              f"{steps['fft'] / seconds:4.2f}x TFC's")
    if "codec" in parts:
      result["process"] = processes[name]
      floor = processes[name]["import floor"]["wall_s"]
      print(f"\n{name}: processes on {args.image} (median of {args.repeats})")
      for step, values in processes[name].items():
        print(f"  {step:13s} {values['wall_s']:6.2f} s wall "
              f"(+{values['wall_s'] - floor:5.2f} s over the import floor), "
              f"peak RSS {values['peak_rss_mib']:5.0f} MiB")
      split = result["in_process"] = in_process_split(name, image, args.repeats)
      print("  in process: " + ", ".join(
          f"{key} {value:.3f}" for key, value in split.items()))
  if args.out:
    with open(args.out, "w") as f:
      json.dump(report, f, indent=2)


if __name__ == "__main__":
  main()
