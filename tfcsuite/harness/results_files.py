"""A run's curves as files: CompressAI-schema JSON and a per-image CSV; a
benchmark table as JSON and Markdown."""

import csv
import io
import json
import os

from tfcsuite import image_io
from tfcsuite.harness.curves import AVERAGED

# Marks the JSON files this harness wrote (only those are ever removed).
GENERATOR = "tfcsuite benchmarks/kodak.py"
# kodak_per_image.csv: one row per (curve, point, image).
CSV_COLUMNS = ("curve", "point", "image", "height", "width", "file_bytes",
               "payload_bytes", "bpp", "payload_bpp", "model_estimate_bpp",
               "psnr_rgb", "y_psnr", "ms_ssim_rgb", "ms_ssim_db_rgb", "mse",
               "encode_ms", "decode_ms")


def compressai_json(curve):
  """A curve in CompressAI's results schema (times in seconds), plus extras."""
  results = {}
  for field, key in AVERAGED.items():
    values = curve.means[field]
    if field == "model_estimate_bpp" and all(v is None for v in values):
      continue  # Classical codecs have no rate estimate.
    if field in ("encode_ms", "decode_ms"):
      values = [None if v is None else v / 1000. for v in values]
    results[key] = values
  return dict(
      name=curve.name, description=curve.spec.description, results=results,
      generator=GENERATOR, label=curve.spec.label, kind=curve.spec.kind,
      points=curve.points, settings=curve.settings,
      published_curve=curve.spec.published_curve,
      comparisons=curve.comparisons)


def _dumps(value):
  return (json.dumps(value, indent=2, allow_nan=False) + "\n").encode()


def write_json(out_dir, curves, metadata, combined_name="kodak.json"):
  """Writes curves/<name>.json (CompressAI schema) and the combined file.

  Per-curve files of earlier runs that this run did not produce are removed,
  so that the folder holds one run's results only.
  """
  curve_dir = os.path.join(out_dir, "curves")
  os.makedirs(curve_dir, exist_ok=True)
  written = set()
  for curve in curves:
    name = curve.name + ".json"
    image_io.write_bytes(os.path.join(curve_dir, name),
                         _dumps(compressai_json(curve)), overwrite=True)
    written.add(name)
  for name in os.listdir(curve_dir):
    path = os.path.join(curve_dir, name)
    if name.endswith(".json") and name not in written:
      try:
        with open(path) as f:
          ours = json.load(f).get("generator") == GENERATOR
      except (OSError, ValueError, AttributeError):
        ours = False
      if ours:
        os.unlink(path)
  combined = dict(generator=GENERATOR, metadata=metadata,
                  curves=[compressai_json(curve) for curve in curves])
  image_io.write_bytes(os.path.join(out_dir, combined_name), _dumps(combined),
                       overwrite=True)


def write_csv(path, measurements):
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n",
                          extrasaction="ignore")
  writer.writeheader()
  for record in measurements:
    writer.writerow({key: "" if record.get(key) is None else record[key]
                     for key in CSV_COLUMNS})
  image_io.write_bytes(path, buffer.getvalue().encode(), overwrite=True)


def read_run(path):
  """A harness run from its combined JSON: (metadata, [CurveResult]).

  The inverse of `write_json`: means back in the CSV columns' units
  (times in milliseconds), comparisons as recorded.
  """
  from tfcsuite import UserError
  from tfcsuite.harness.curves import CurveResult, CurveSpec
  try:
    with open(path) as f:
      run = json.load(f)
  except (OSError, ValueError) as error:
    raise UserError(f"cannot read harness results {path!r}: {error}") from None
  if not isinstance(run, dict) or run.get("generator") != GENERATOR:
    raise UserError(f"{path!r} was not written by {GENERATOR}")
  curves = []
  for entry in run["curves"]:
    means = {}
    for field, key in AVERAGED.items():
      values = entry["results"].get(key, [None] * len(entry["points"]))
      if field in ("encode_ms", "decode_ms"):
        values = [None if v is None else v * 1000. for v in values]
      means[field] = values
    spec = CurveSpec(name=entry["name"], label=entry["label"],
                     description=entry["description"], kind=entry["kind"],
                     published_curve=entry["published_curve"], points=[])
    curves.append(CurveResult(spec=spec, points=entry["points"],
                              settings=entry["settings"], means=means,
                              comparisons=entry["comparisons"]))
  return run["metadata"], curves


def read_csv(path):
  """The rows of a per-image CSV, numbers as floats (empty cells: None)."""
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  text_columns = ("curve", "point", "image")
  return [{key: value if key in text_columns else
           (None if value == "" else float(value))
           for key, value in row.items()} for row in rows]


def write_table(out_dir, stem, result, text):
  """Writes <stem>.json (`result`) and <stem>.md (`text`) into `out_dir`."""
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, stem)
  image_io.write_bytes(path + ".json",
                       (json.dumps(result, indent=1) + "\n").encode(),
                       overwrite=True)
  image_io.write_bytes(path + ".md", text.encode(), overwrite=True)
