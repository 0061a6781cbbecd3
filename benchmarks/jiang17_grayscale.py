#!/usr/bin/env python3
"""Jiang et al. 2017's own comparison, on Kodak in grayscale.

The paper's tables compare, on grayscale images at JPEG quality factors 5
and 10, the ComCNN + JPEG + RecCNN framework with plain JPEG at the same
quality factor (PSNR, SSIM and bit rate). This script makes that comparison
on the 24 Kodak images (their 8-bit BT.601 luma) with a grayscale checkpoint
(`models/jiang17.py train --channels 1`), and adds rows that say where
a gain comes from:

  * "JPEG, same quality": the whole image through the same libjpeg (the one
    in TensorFlow, optimized Huffman tables, accurate integer IDCT);
  * "2x mean + JPEG + bicubic": the framework with untrained networks, which
    by construction of `models/jiang17.py` is exactly mean downsampling,
    JPEG of the half-size image and bicubic upsampling;
  * "JPEG, same bpp": plain JPEG's PSNR and SSIM interpolated (linearly in
    mean bpp, over qualities 1..40) at the framework's mean bpp.

Every rate is the size of the real file (our container for the framework,
the JPEG file for plain JPEG) over the image's pixels.

Usage:
  python benchmarks/jiang17_grayscale.py --data_dir DIR/kodak \
      [--checkpoint checkpoints/jiang17/gray] [--out benchmarks/results]
"""

import argparse
import os
import sys

import numpy as np

from tfcsuite import UserError, checkpoint, container, exit_status, image_io
from tfcsuite import metrics
from tfcsuite.zoo import CHECKPOINTS
from tfcsuite.datasets import kodak
from tfcsuite.harness import results_files

PAPER_QUALITIES = (5, 10)
PLAIN_JPEG_SWEEP = tuple(range(1, 41))


def plain_jpeg(gray, quality):
  """(reconstruction, file bytes) of a 2-D uint8 image as a JPEG file."""
  import tensorflow as tf
  data = tf.io.encode_jpeg(gray[..., None], quality=quality,
                           optimize_size=True)
  # The IDCT of models/jiang17.py's decoder.
  decoded = tf.io.decode_jpeg(data, channels=1, dct_method="INTEGER_ACCURATE")
  return decoded.numpy()[..., 0], len(data.numpy())


def framework(model, ckpt, image, quality):
  """(reconstruction, file bytes) of ComCNN + JPEG + RecCNN."""
  from tfcsuite import coding
  packed = container.pack(coding.encode(model, ckpt, image, quality=quality))
  reconstruction = coding.decode(model, container.unpack(packed))
  return reconstruction, len(packed)


def scores(gray, reconstruction, file_bytes):
  height, width = gray.shape
  return dict(bpp=metrics.bits_per_pixel(file_bytes, height, width),
              psnr=metrics.psnr(gray, reconstruction),
              ssim=metrics.ssim(gray, reconstruction))


def mean_scores(per_image):
  return {key: float(np.mean([s[key] for s in per_image]))
          for key in per_image[0]}


def at_bpp(curve, bpp):
  """PSNR and SSIM of a (mean bpp-sorted) curve, interpolated at `bpp`."""
  rates = [point["bpp"] for point in curve]
  if not rates[0] <= bpp <= rates[-1]:
    return dict(bpp=bpp, psnr=None, ssim=None)
  return dict(bpp=bpp, **{
      key: float(np.interp(bpp, rates, [point[key] for point in curve]))
      for key in ("psnr", "ssim")})


def untrained_checkpoint(script, config):
  """Checkpoint of the networks at initialization: the plain pipeline.

  At initialization the RecCNN's last convolution is zero, so its output is
  the bicubic upsampling whatever its depth: a 2-layer RecCNN computes the
  same function as the 20-layer one without its 18 64-to-64-channel layers
  (the bulk of the decoding arithmetic).
  """
  config = dict(config, reccnn_depth=2)
  model = script.training_model(config)
  manifest = dict(model=script.name, config=config)
  return checkpoint.Checkpoint("untrained", manifest, model.export_weights(),
                               fingerprint=0)


def compare(script, ckpt, images, qualities):
  """Mean scores of every row at every quality (see the module docstring)."""
  baseline = untrained_checkpoint(script, ckpt.config)
  models = {"framework": (script.coding_model(ckpt), ckpt),
            "mean_jpeg_bicubic": (script.coding_model(baseline), baseline)}
  reference = models["framework"][0].reference_image
  grays = {name: reference(image) for name, image in images.items()}

  sweep = {}  # Plain JPEG's mean scores by quality.
  for quality in sorted(set(PLAIN_JPEG_SWEEP) | set(qualities)):
    sweep[quality] = mean_scores([scores(gray, *plain_jpeg(gray, quality))
                                  for gray in grays.values()])
  curve = sorted(sweep.values(), key=lambda point: point["bpp"])

  rows = []
  for quality in qualities:
    row = dict(quality=quality, jpeg_same_quality=sweep[quality])
    for key, (model, used) in models.items():
      row[key] = mean_scores([
          scores(grays[name], *framework(model, used, image, quality))
          for name, image in images.items()])
    row["jpeg_same_bpp"] = at_bpp(curve, row["framework"]["bpp"])
    rows.append(row)
  return rows


ROW_LABELS = {
    "framework": "ComCNN + JPEG + RecCNN",
    "mean_jpeg_bicubic": "2x mean + JPEG + bicubic (untrained)",
    "jpeg_same_quality": "JPEG, same quality",
    "jpeg_same_bpp": "JPEG, same bpp (interpolated)",
}


def _number(value, digits):
  return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(rows, ckpt, num_images):
  lines = [
      "# Jiang et al. 2017 on Kodak, grayscale",
      "",
      f"{num_images} Kodak images as 8-bit BT.601 luma; checkpoint "
      f"`{ckpt.path}` (CRC32 {ckpt.fingerprint:08x}); written by "
      "`benchmarks/jiang17_grayscale.py`. Means over the images; bpp of "
      "the real files.",
      "",
      "| JPEG quality | method | bpp | PSNR (dB) | SSIM |",
      "|---:|---|---:|---:|---:|",
  ]
  for row in rows:
    for key, label in ROW_LABELS.items():
      point = row[key]
      lines.append(f"| {row['quality']} | {label} | "
                   f"{_number(point['bpp'], 4)} | "
                   f"{_number(point['psnr'], 2)} | "
                   f"{_number(point['ssim'], 4)} |")
  lines += ["", "Gains of the framework:", ""]
  for row in rows:
    ours, same_q = row["framework"], row["jpeg_same_quality"]
    same_bpp = row["jpeg_same_bpp"]
    text = (f"- quality {row['quality']}: over JPEG at the same quality "
            f"{ours['psnr'] - same_q['psnr']:+.2f} dB PSNR, "
            f"{ours['ssim'] - same_q['ssim']:+.4f} SSIM at "
            f"{100. * ours['bpp'] / same_q['bpp']:.0f}% of its bpp")
    if same_bpp["psnr"] is not None:
      text += (f"; over JPEG at the same bpp "
               f"{ours['psnr'] - same_bpp['psnr']:+.2f} dB PSNR, "
               f"{ours['ssim'] - same_bpp['ssim']:+.4f} SSIM")
    lines.append(text + ".")
  return "\n".join(lines) + "\n"


def parse_args(argv):
  parser = argparse.ArgumentParser(
      description=__doc__.splitlines()[0],
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("--data_dir", default=os.environ.get("TFCS_KODAK_DIR"),
                      help="Folder with the 24 Kodak PNGs (default: "
                           "$TFCS_KODAK_DIR).")
  parser.add_argument(
      "--checkpoint", default=os.path.join(CHECKPOINTS, "jiang17", "gray"),
      help="A grayscale jiang17 checkpoint.")
  parser.add_argument("--qualities", type=int, nargs="+",
                      default=list(PAPER_QUALITIES))
  parser.add_argument("--images", default="all",
                      help="Comma-separated Kodak names, or 'all'.")
  parser.add_argument("--out", default=os.path.join("benchmarks", "results"),
                      help="Folder for jiang17_grayscale.{md,json}.")
  return parser.parse_args(argv)


def main(argv=None):
  args = parse_args(argv)
  from tfcsuite import zoo
  if not args.data_dir:
    raise UserError("no Kodak folder: pass --data_dir or set TFCS_KODAK_DIR")
  names = None if args.images == "all" else args.images.split(",")
  paths = kodak.verify(args.data_dir, names)
  if any(not 1 <= q <= 100 for q in args.qualities):
    raise UserError("--qualities must be in 1..100")
  script = zoo.load_script("jiang17")
  ckpt = checkpoint.load(args.checkpoint, "jiang17")
  if ckpt.config.get("channels") != 1:
    raise UserError(f"{args.checkpoint!r} is not a grayscale checkpoint "
                    "(train one with --channels 1)")
  images = {os.path.basename(p): image_io.read_image(p) for p in paths}
  rows = compare(script, ckpt, images, args.qualities)
  result = dict(checkpoint=ckpt.path, weights_crc32=ckpt.fingerprint,
                images=sorted(images), rows=rows)
  text = markdown(rows, ckpt, len(images))
  results_files.write_table(args.out, "jiang17_grayscale", result, text)
  print(text, end="")


if __name__ == "__main__":
  sys.exit(exit_status(main, "jiang17_grayscale.py"))
