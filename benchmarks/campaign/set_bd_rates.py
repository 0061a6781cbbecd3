"""BD-rates of a checkpoint set with some points replaced by other runs.

    python benchmarks/campaign/set_bd_rates.py \
        --results benchmarks/results/balle18/kodak.json --model balle18 \
        --replace lambda0.08=runs/eval/NAME/kodak.json ... [--drop POINT] \
        --reference_dir ../shared/reference

A fine-tune's snapshot is measured alone (snapshot_eval.sh); what it does to
its model's curve needs the rest of the set: this takes the curve of
`--model` in a harness run (`--results`), replaces the points named by
`--replace` with the (only) point of another run's kodak.json, leaves out
those named by `--drop` (e.g. one the replacements make redundant), and prints
the BD-rates (PSNR RGB) of that curve against JPEG 4:2:0 and the other
models of the same run, and against the published curve, as JSON.
"""

import argparse
import json
import sys

from tfcsuite import UserError, exit_status, release
from tfcsuite.harness import bjontegaard, published, results_files


def _curves(path):
  """{name: CurveResult} of a harness run's kodak.json."""
  _, curves = results_files.read_run(path)
  return {curve.spec.name: curve for curve in curves}


def _points(curve):
  """{point name: (bpp, PSNR RGB)} of a harness curve."""
  return {name: (bpp, psnr) for name, bpp, psnr in zip(
      curve.points, curve.means["bpp"], curve.means["psnr_rgb"])}


def replaced_set(results, model, replacements, dropped=()):
  """(curves of the run, {point: (bpp, PSNR)} of `model` after replacing
  and dropping)."""
  curves = _curves(results)
  if model not in curves:
    raise UserError(f"{results} has no curve {model!r}")
  points = _points(curves[model])
  for name, path in replacements:
    if name not in points:
      raise UserError(f"{model} has no point {name!r} in {results}")
    snapshot = [_points(curve) for curve in _curves(path).values()]
    if len(snapshot) != 1 or len(snapshot[0]) != 1:
      raise UserError(f"{path} is not one curve of one point")
    [points[name]] = snapshot[0].values()
  for name in dropped:
    if points.pop(name, None) is None:
      raise UserError(f"--drop {name}: {model} has no such point")
  return curves, points


def bd_rates(curves, model, points, reference_dir):
  """{anchor: BD-rate %} of the set against the run's other curves and the
  published one (None where they do not overlap)."""
  bpp, psnr = zip(*sorted(points.values()))
  anchors = {name: sorted(_points(curve).values())
             for name, curve in curves.items() if name != model}
  name = curves[model].spec.published_curve
  reference = name and published.load(reference_dir, name, "psnr")
  if reference:
    anchors["published"] = list(zip(reference.bpp, reference.values))
  rates = {}
  for anchor, anchor_points in anchors.items():
    anchor_bpp, anchor_psnr = zip(*anchor_points)
    try:
      rates[anchor] = round(bjontegaard.bd_rate(anchor_bpp, anchor_psnr, bpp,
                                                psnr), 2)
    except bjontegaard.NotComparable:
      rates[anchor] = None
  return rates


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="set_bd_rates.py",
      description=__doc__.split("\n\n", maxsplit=2)[1].strip())
  parser.add_argument("--results", required=True,
                      help="kodak.json of a harness run with the set.")
  parser.add_argument("--model", required=True, help="The set's curve name.")
  parser.add_argument("--replace", type=release.name_and_path, action="append",
                      default=[], metavar="POINT=KODAK_JSON")
  parser.add_argument("--drop", action="append", default=[],
                      metavar="POINT", help="A point to leave out.")
  parser.add_argument("--reference_dir", required=True,
                      help="Published curves (../shared/reference).")
  args = parser.parse_args(argv)
  return exit_status(_print_bd_rates, parser.prog, args)


def _print_bd_rates(args):
  curves, points = replaced_set(args.results, args.model, args.replace,
                                args.drop)
  print(json.dumps(dict(
      points={name: [round(b, 4), round(p, 2)]
              for name, (b, p) in points.items()},
      bd_rate=bd_rates(curves, args.model, points, args.reference_dir)),
      indent=1))


if __name__ == "__main__":
  sys.exit(main())
