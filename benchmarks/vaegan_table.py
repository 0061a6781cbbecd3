#!/usr/bin/env python3
"""The seed's table for models/vaegan.py, measured: with and without latent
optimization.

The seed (vineeths96, "Variational Generative Image Compression") reports per
latent channel count C an SSIM, a PSNR and a "CR". Its CR is a ratio of
element counts (3 x 218 x 178 pixels over C x 54 x 44 latent elements), not
of file sizes, and its PSNR/SSIM were computed on RGBA images. This script
codes centre crops of a few Kodak images with each shipped vaegan checkpoint
into real files, with the encoder's latent and after `--latent_steps` steps
of latent optimization, and reports RGB PSNR, SSIM, MS-SSIM (crops of at
least 161 pixels a side), bpp of the whole file and CR = 24 / bpp. It writes
vaegan_table.{md,json} and, for each of --png_images, one PNG (the crop,
then each checkpoint's reconstruction at each step count, left to right)
into --out.

Usage:
  python benchmarks/vaegan_table.py --data_dir DIR/kodak [--crop 192] \
      [--latent_steps 0 20] [--out benchmarks/results/vaegan]
"""

import math
import os
import sys
import time

import numpy as np

from tfcsuite import UserError, checkpoint, cli, coding, container, exit_status
from tfcsuite import image_io, metrics, zoo
from tfcsuite.datasets import kodak
from tfcsuite.harness import results_files, run_flags

DEFAULT_IMAGES = "kodim01.png,kodim08.png,kodim15.png,kodim23.png"
# The seed's README table: C -> (SSIM, PSNR in dB, "CR").
SEED_TABLE = {28: (0.83, 24.79, 1.74), 16: (0.80, 24.37, 3.06),
              8: (0.81, 24.06, 6.12), 4: (0.79, 23.57, 12.24),
              2: (0.71, 21.57, 24.49)}


def parse_args(argv):
  parser = run_flags.OneLineErrorParser(
      prog="vaegan_table.py", description=__doc__.split("\n\n")[0])
  run_flags.add_kodak_flags(
      parser, "Folder for vaegan_table.{md,json} and the PNGs.",
      out_default=os.path.join("benchmarks", "results", "vaegan"))
  parser.add_argument(
      "--crop", type=cli.number_in_range(int, low=16), default=192,
      help="Side of the centre crops (default: 192).")
  parser.add_argument(
      "--latent_steps", type=cli.number_in_range(int, low=0), nargs="+",
      default=[0, 20], help="Latent optimization steps (default: 0 20).")
  parser.add_argument(
      "--latent_bits", type=cli.number_in_range(int, 1, 8), default=5,
      help="Bits per latent element (default: 5, as compress).")
  parser.add_argument(
      "--png_images", default="kodim23.png",
      help="Comma-separated images whose reconstructions are written as PNG.")
  return parser.parse_args(argv)


def centre_crop(image, side):
  height, width = image.shape[:2]
  top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
  return image[top:top + side, left:left + side]


def measure(model, ckpt, image, **options):
  """(scores, reconstruction) of one real file."""
  start = time.perf_counter()
  packed = container.pack(coding.encode(model, ckpt, image, **options))
  seconds = time.perf_counter() - start
  reconstruction = coding.decode(model, container.unpack(packed, "vaegan"))
  bpp = metrics.bits_per_pixel(len(packed), *image.shape[:2])
  return dict(bpp=bpp, cr=24. / bpp,
              psnr=metrics.psnr(image, reconstruction),
              ssim=metrics.ssim(image, reconstruction),
              ms_ssim=metrics.ms_ssim(image, reconstruction),
              encode_seconds=seconds), reconstruction


def mean(rows, key):
  return float(np.mean([row[key] for row in rows]))


def _number(value, digits):
  return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def markdown(rows, crop, names, bits):
  lines = [
      "# vaegan: the seed's table beside ours",
      "",
      f"Centre {crop}x{crop} crops of {', '.join(names)}; {bits} bits per "
      "latent element; means over the crops. Ours: RGB, bpp of the whole "
      "file, CR = 24 / bpp. The seed: RGBA PSNR/SSIM on Flickr, CR a ratio "
      "of element counts. Written by `benchmarks/vaegan_table.py`.",
      "",
      "| C | checkpoint | seed SSIM / PSNR / CR | latent steps | bpp | CR | "
      "PSNR (dB) | SSIM | MS-SSIM | encode s |",
      "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|",
  ]
  for row in rows:
    seed = SEED_TABLE.get(row["channels"])
    seed_text = (f"{seed[0]:.2f} / {seed[1]:.2f} / {seed[2]:.2f}x"
                 if seed else "n/a")
    lines.append(
        f"| {row['channels']} | {row['checkpoint']} | {seed_text} | "
        f"{row['latent_steps']} | {row['bpp']:.3f} | {row['cr']:.1f}x | "
        f"{row['psnr']:.2f} | {row['ssim']:.3f} | "
        f"{_number(row['ms_ssim'], 3)} | {row['encode_seconds']:.1f} |")
  return "\n".join(lines) + "\n"


def main(argv=None):
  args = parse_args(argv)
  if not args.data_dir:
    raise UserError("no Kodak folder: pass --data_dir or set TFCS_KODAK_DIR")
  names = (args.images or DEFAULT_IMAGES).split(",")
  images = {os.path.basename(p): centre_crop(image_io.read_image(p), args.crop)
            for p in kodak.verify(args.data_dir, names)}
  script = zoo.load_script("vaegan")
  rows, panels = [], {name: [image] for name, image in images.items()}
  for folder in zoo.shipped_checkpoints("vaegan"):
    ckpt = checkpoint.load(folder, "vaegan")
    model = script.coding_model(ckpt)
    for steps in args.latent_steps:
      per_image = []
      for name, image in images.items():
        scores, reconstruction = measure(
            model, ckpt, image, latent_steps=steps,
            latent_bits=args.latent_bits)
        per_image.append(dict(image=name, **scores))
        panels[name].append(reconstruction)
      rows.append(dict(
          checkpoint=ckpt.name, weights_crc32=f"{ckpt.fingerprint:08x}",
          channels=ckpt.config["latent_channels"], latent_steps=steps,
          **{key: mean(per_image, key) for key in per_image[0]
             if key != "image"}, per_image=per_image))
      print(f"{ckpt.name} steps {steps}: {rows[-1]['psnr']:.2f} dB, "
            f"{rows[-1]['bpp']:.3f} bpp", flush=True)
  os.makedirs(args.out, exist_ok=True)
  for name in args.png_images.split(","):
    if name in panels:  # The crop, then each checkpoint at each step count.
      image_io.write_image(os.path.join(args.out, name.replace(
          ".png", f"_crop{args.crop}.png")),
          np.concatenate(panels[name], axis=1), overwrite=True)
  result = dict(crop=args.crop, latent_bits=args.latent_bits,
                images=sorted(images), rows=rows, seed_table=SEED_TABLE)
  text = markdown(rows, args.crop, sorted(images), args.latent_bits)
  results_files.write_table(args.out, "vaegan_table", result, text)
  print(text, end="")


if __name__ == "__main__":
  sys.exit(exit_status(main, "vaegan_table.py"))
