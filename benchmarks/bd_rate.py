#!/usr/bin/env python3
"""BD-rate and BD-PSNR of one harness curve against another.

The harness (`benchmarks/kodak.py`) reports each curve against JPEG 4:2:0
and the published curves; this compares any two curves it wrote (CompressAI
schema JSON files), e.g. two models of different runs:

  python benchmarks/bd_rate.py benchmarks/results/curves/balle17.json \
      benchmarks/results/li18/curves/li18.json
"""

import argparse
import json
import sys

from tfcsuite.harness import bjontegaard


def load_curve(path):
  with open(path) as f:
    results = json.load(f)["results"]
  return results["bpp"], results["psnr-rgb"]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("anchor", help="The anchor's curve file.")
  parser.add_argument("test", help="The tested curve file.")
  args = parser.parse_args(argv)
  anchor = load_curve(args.anchor)
  test = load_curve(args.test)
  try:
    rate = bjontegaard.bd_rate(*anchor, *test)
    psnr = bjontegaard.bd_quality(*anchor, *test)
  except bjontegaard.NotComparable as error:
    sys.exit(f"{args.test} vs {args.anchor}: not comparable: {error}")
  print(f"{args.test} vs {args.anchor}: BD-rate {rate:+.1f} %, "
        f"BD-PSNR {psnr:+.2f} dB")


if __name__ == "__main__":
  main()
