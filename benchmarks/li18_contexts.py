#!/usr/bin/env python3
"""Li 2018's bit contexts against an order-0 model, on real Kodak files.

Compresses every Kodak image with each li18 checkpoint twice: with the
model's bit contexts (channel, bits k-1 and k-2, ones among 8 neighbours in
channel k-1) and with one probability per channel (`compress --bit_contexts
order0`), both learned with the same networks. Same importance levels and
kept bits, so the difference is the context model's alone. Writes
li18_contexts.{json,md} and the importance map of one image as a PNG
(`illustrations()`, black level 0 to white level L-1).

Usage:
  python benchmarks/li18_contexts.py --data_dir DIR/kodak \
      [--checkpoint checkpoints/li18/r0.33 ...] [--out benchmarks/results/li18]
"""

import argparse
import json
import os

import numpy as np

from tfcsuite import checkpoint, coding, container, image_io, zoo
from tfcsuite.datasets import kodak


def file_bits(model, ckpt, image, bit_contexts):
  """Whole-file bits and the bits of the kept-bits string."""
  parsed = coding.encode(model, ckpt, image, bit_contexts=bit_contexts)
  return 8 * len(container.pack(parsed)), 8 * len(parsed.strings[1])


def measure(folder, paths):
  ckpt = checkpoint.load(folder, "li18")
  model = zoo.load_script("li18").coding_model(ckpt)
  totals = np.zeros(4)
  pixels = 0
  for path in paths:
    image = image_io.read_image(path)
    totals += (file_bits(model, ckpt, image, "neighbours") +
               file_bits(model, ckpt, image, "order0"))
    pixels += image.shape[0] * image.shape[1]
  file_ours, bits_ours, file_order0, bits_order0 = totals
  return dict(checkpoint=ckpt.name, images=len(paths),
              bpp=file_ours / pixels, bpp_order0=file_order0 / pixels,
              file_saving=1 - file_ours / file_order0,
              kept_bits_saving=1 - bits_ours / bits_order0)


def write_map(folder, path, out):
  ckpt = checkpoint.load(folder, "li18")
  model = zoo.load_script("li18").coding_model(ckpt)
  (_, picture), _ = model.illustrations(image_io.read_image(path))
  name = os.path.join(out, "importance_map_" + os.path.basename(path))
  with open(name, "wb") as f:
    f.write(image_io.encode_image(picture, "PNG", optimize=True))
  return name


def markdown(rows):
  lines = [
      "# li18: bit contexts vs an order-0 model (Kodak, 24 images)", "",
      "Written by `benchmarks/li18_contexts.py`. Whole files (levels, kept "
      "bits, header); the order-0 file differs only in the bit model.", "",
      "| checkpoint | bpp, contexts | bpp, order 0 | file saving | kept-bits "
      "saving |", "|---|--:|--:|--:|--:|"]
  for r in rows:
    lines.append(f"| `{r['checkpoint']}` | {r['bpp']:.4f} | "
                 f"{r['bpp_order0']:.4f} | {100 * r['file_saving']:.1f} % | "
                 f"{100 * r['kept_bits_saving']:.1f} % |")
  return "\n".join(lines) + "\n"


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", default=os.environ.get("TFCS_KODAK_DIR"),
                      required=not os.environ.get("TFCS_KODAK_DIR"))
  parser.add_argument("--checkpoint", nargs="+",
                      default=zoo.shipped_checkpoints("li18"))
  parser.add_argument("--map_image", default="kodim23")
  parser.add_argument("--out", default=os.path.join("benchmarks", "results",
                                                    "li18"))
  args = parser.parse_args(argv)
  paths = kodak.verify(args.data_dir)
  rows = [measure(folder, paths) for folder in args.checkpoint]
  os.makedirs(args.out, exist_ok=True)
  with open(os.path.join(args.out, "li18_contexts.json"), "w") as f:
    json.dump(rows, f, indent=1)
  with open(os.path.join(args.out, "li18_contexts.md"), "w") as f:
    f.write(markdown(rows))
  print(markdown(rows))
  default = zoo.load_script("li18").default_checkpoint_path()
  print(write_map(default, [p for p in paths if args.map_image in p][0],
                  args.out))


if __name__ == "__main__":
  main()
