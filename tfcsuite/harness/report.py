"""From per-image measurements to curves, Bjøntegaard deltas, files and plots.

Averages are means of per-image values at each point (as CompressAI and TFC
do), so e.g. the mean PSNR is not the PSNR of the mean squared error. One
exception, for comparability with published curves: those give only the mean
MS-SSIM per point, so plots and BD-rates in MS-SSIM dB use the dB of the mean
MS-SSIM, -10 log10(1 - mean), for measured and published curves alike. The
tables also report the mean of per-image MS-SSIM dB values.
"""

import csv
import dataclasses
import io
import json
import math
import os

from tfcsuite import image_io, metrics
from tfcsuite.harness import bjontegaard, published

ANCHOR = "jpeg420"
GENERATOR = "tfcsuite benchmarks/kodak.py"

# Per-image fields averaged per point: CSV column -> key in CompressAI's schema.
AVERAGED = {
    "bpp": "bpp",
    "payload_bpp": "payload-bpp",
    "model_estimate_bpp": "model-estimate-bpp",
    "psnr_rgb": "psnr-rgb",
    "y_psnr": "psnr-y",
    "ms_ssim_rgb": "ms-ssim-rgb",
    "ms_ssim_db_rgb": "ms-ssim-db-rgb",
    "mse": "mse-rgb",
    "encode_ms": "encoding_time",
    "decode_ms": "decoding_time",
}
CSV_COLUMNS = ("curve", "point", "image", "height", "width", "file_bytes",
               "payload_bytes", "bpp", "payload_bpp", "model_estimate_bpp",
               "psnr_rgb", "y_psnr", "ms_ssim_rgb", "ms_ssim_db_rgb", "mse",
               "encode_ms", "decode_ms")


@dataclasses.dataclass
class CurveSpec:
  """What the harness knows about a curve before measuring it."""
  name: str
  label: str
  description: str
  kind: str                    # "codec" or "model"
  published_curve: str         # TFC results name, or None
  points: list                 # evaluation points (see evaluation.py)


@dataclasses.dataclass
class CurveResult:
  spec: CurveSpec
  points: list     # point labels, sorted by mean bpp
  settings: list   # each point's setting
  means: dict      # CSV column -> list of per-point means (None if undefined)
  comparisons: dict = dataclasses.field(default_factory=dict)

  @property
  def name(self):
    return self.spec.name

  def ms_ssim_db_of_mean(self):
    return [None if value is None else metrics.ms_ssim_db(value)
            for value in self.means["ms_ssim_rgb"]]


def _mean(values):
  # A point's mean is undefined unless every image has the value.
  if not values or any(value is None for value in values):
    return None
  return sum(values) / len(values)


def aggregate(specs, measurements):
  """Per-point means of per-image measurements, one `CurveResult` per curve."""
  by_point = {}
  for record in measurements:
    by_point.setdefault((record["curve"], record["point"]), []).append(record)
  curves = []
  for spec in specs:
    rows = []
    for point in spec.points:
      records = by_point[spec.name, point.label]
      rows.append((point.label, point.setting,
                   {field: _mean([r[field] for r in records])
                    for field in AVERAGED}))
    rows.sort(key=lambda row: row[2]["bpp"])
    curves.append(CurveResult(
        spec=spec, points=[row[0] for row in rows],
        settings=[row[1] for row in rows],
        means={field: [row[2][field] for row in rows] for field in AVERAGED}))
  return curves


def _nan_for_none(values):
  return [math.nan if v is None else v for v in values]


def _psnr_deltas(anchor_bpp, anchor_psnr, bpp, psnr):
  """BD-rate and BD-PSNR in PSNR terms, or a note saying why there are none."""
  try:
    return dict(
        bd_rate_psnr=bjontegaard.bd_rate(anchor_bpp, anchor_psnr, bpp, psnr),
        bd_psnr_db=bjontegaard.bd_quality(anchor_bpp, anchor_psnr, bpp, psnr),
        note=None)
  except bjontegaard.NotComparable as reason:
    return dict(bd_rate_psnr=None, bd_psnr_db=None, note=str(reason))


def _bd_rate_or_none(anchor_bpp, anchor_quality, bpp, quality):
  try:
    return bjontegaard.bd_rate(anchor_bpp, _nan_for_none(anchor_quality), bpp,
                               _nan_for_none(quality))
  except bjontegaard.NotComparable:
    return None  # The PSNR comparison's note says why, in practice.


def compare(curves, reference_dir):
  """Fills each curve's `comparisons`: vs measured JPEG 4:2:0, vs published.

  Each comparison holds BD-rate and BD-PSNR (PSNR RGB), BD-rate in MS-SSIM dB,
  or a note why the curves are not comparable. Returns the published curves
  read, {name: {"psnr": Curve, "ms_ssim": Curve or None}}, for plotting.
  """
  anchor = next((c for c in curves if c.name == ANCHOR), None)
  published_curves = {}
  for curve in curves:
    bpp, psnr = curve.means["bpp"], curve.means["psnr_rgb"]
    msssim_db = curve.ms_ssim_db_of_mean()
    if curve is anchor:
      curve.comparisons[ANCHOR] = dict(anchor=True)
    elif anchor is None:
      curve.comparisons[ANCHOR] = dict(
          note=f"{ANCHOR} was not measured in this run")
    else:
      curve.comparisons[ANCHOR] = dict(
          **_psnr_deltas(anchor.means["bpp"], anchor.means["psnr_rgb"], bpp,
                         psnr),
          bd_rate_ms_ssim_db=_bd_rate_or_none(
              anchor.means["bpp"], anchor.ms_ssim_db_of_mean(), bpp,
              msssim_db))

    name = curve.spec.published_curve
    if name is None:
      continue
    if reference_dir is None:
      curve.comparisons["published"] = dict(
          curve=name, note="no --reference_dir given")
      continue
    reference = {metric: published.load(reference_dir, name, metric)
                 for metric in published.METRICS}
    if reference["psnr"] is None:
      curve.comparisons["published"] = dict(
          curve=name, note=f"{name}.txt is not in the reference folder")
      continue
    published_curves[name] = reference
    ms_ssim = reference["ms_ssim"]
    curve.comparisons["published"] = dict(
        curve=name, title=reference["psnr"].title,
        **_psnr_deltas(reference["psnr"].bpp, reference["psnr"].values, bpp,
                       psnr),
        bd_rate_ms_ssim_db=None if ms_ssim is None else _bd_rate_or_none(
            ms_ssim.bpp, [metrics.ms_ssim_db(v) for v in ms_ssim.values], bpp,
            msssim_db))
  return published_curves


# ---------------------------------------------------------------- JSON / CSV


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


def write_json(out_dir, curves, metadata):
  """Writes curves/<name>.json (CompressAI schema) and the combined kodak.json.

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
  image_io.write_bytes(os.path.join(out_dir, "kodak.json"), _dumps(combined),
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


# ------------------------------------------------------------------ Markdown


def _number(value, digits, suffix="", signed=False):
  if value is None:
    return "n/a"
  return f"{value:{'+' if signed else ''}.{digits}f}{suffix}"


def summary_markdown(curves, metadata):
  """One row per curve; the table the README shows."""
  lines = [
      f"Kodak, {len(metadata['images'])} images; "
      f"{metadata['cpu']['model']} ({metadata['cpu']['usable_cores']} cores "
      f"usable), {metadata['threads']['requested']} thread(s); "
      f"git {metadata['git']['sha'][:10] if metadata['git']['sha'] else '?'}"
      f"{' (uncommitted changes)' if metadata['git']['dirty'] else ''}; "
      f"{metadata['date']}.",
      "",
      "BD-rate: average bitrate change at equal PSNR (negative: fewer bits); "
      "BD-PSNR: average PSNR change at equal bitrate. bpp counts whole files, "
      "headers included.",
      "",
      "| Curve | Points | Mean bpp | BD-rate vs JPEG 4:2:0 | "
      "BD-PSNR vs JPEG 4:2:0 | Published curve | BD-rate vs published | "
      "BD-PSNR vs published | Encode ms | Decode ms |",
      "|---|--:|---|--:|--:|---|--:|--:|--:|--:|",
  ]
  notes = []

  def cells(comparison, what):
    if comparison.get("anchor"):
      return ["anchor", "anchor"]
    if comparison.get("note"):
      notes.append(f"{what}: {comparison['note']}.")
      return [f"n/a [{len(notes)}]"] * 2
    return [_number(comparison["bd_rate_psnr"], 1, " %", signed=True),
            _number(comparison["bd_psnr_db"], 2, " dB", signed=True)]

  for curve in curves:
    bpp = [v for v in curve.means["bpp"] if v is not None]
    here = cells(curve.comparisons[ANCHOR], f"{curve.name} vs {ANCHOR}")
    paper = curve.comparisons.get("published")
    if paper is None:
      paper_cells = ["—", "—", "—"]
    else:
      paper_cells = [paper["curve"]] + cells(
          paper, f"{curve.name} vs published {paper['curve']}")
    title = (f"`{curve.name}`" if curve.spec.label == curve.name
             else f"{curve.spec.label} (`{curve.name}`)")
    row = [title, str(len(curve.points)),
           f"{min(bpp):.3f}–{max(bpp):.3f}" if bpp else "n/a", *here,
           *paper_cells,
           _number(_mean(curve.means["encode_ms"]), 1),
           _number(_mean(curve.means["decode_ms"]), 1)]
    lines.append("| " + " | ".join(row) + " |")
  if notes:
    lines += [""] + [f"- [{i}] {note}" for i, note in enumerate(notes, 1)]
  return "\n".join(lines) + "\n"


def rd_loss(bpp, mse, setting):
  """L = mean bpp + lambda * mean MSE, the training objective on Kodak.

  Defined for model checkpoints trained with a rate-distortion lambda (in
  TFC's units, MSE on 0..255 pixels); None otherwise.
  """
  lmbda = ((setting or {}).get("config") or {}).get("lmbda")
  if lmbda is None or bpp is None or mse is None:
    return None
  return bpp + lmbda * mse


def points_markdown(curves):
  lines = [
      "| Curve | Point | bpp | Payload bpp | Model estimate bpp | PSNR RGB | "
      "Y′ PSNR | MS-SSIM | MS-SSIM dB | RD loss L | Encode ms | Decode ms |",
      "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ]
  for curve in curves:
    m = curve.means
    for i, point in enumerate(curve.points):
      loss = rd_loss(m["bpp"][i], m["mse"][i], curve.settings[i])
      lines.append("| " + " | ".join([
          curve.name, point, _number(m["bpp"][i], 4),
          _number(m["payload_bpp"][i], 4),
          _number(m["model_estimate_bpp"][i], 4),
          _number(m["psnr_rgb"][i], 2), _number(m["y_psnr"][i], 2),
          _number(m["ms_ssim_rgb"][i], 4), _number(m["ms_ssim_db_rgb"][i], 2),
          _number(loss, 3),
          _number(m["encode_ms"][i], 1), _number(m["decode_ms"][i], 1)]) +
                   " |")
  notes = ("RD loss L = mean bpp + λ · mean MSE (0..255 pixels), for models "
           "trained with λ: the quantity their training minimizes.")
  return "\n".join(lines) + "\n\n" + notes + "\n"


def environment_markdown(metadata):
  lines = [f"- Command: `{metadata['command']}`",
           f"- Images: {', '.join(metadata['images'])}",
           f"- CPU: {metadata['cpu']['model']}, {metadata['cpu']['cores']} "
           f"cores ({metadata['cpu']['usable_cores']} usable)",
           f"- Platform: {metadata['platform']}"]
  lines += [f"- Threads, {name}: {value}"
            for name, value in metadata["threads"].items()]
  lines += [f"- {name}: {version}"
            for name, version in metadata["versions"].items()]
  lines.append(f"- Measurements from cache: {metadata['from_cache']} of "
               f"{metadata['measurements']}")
  return "\n".join(lines) + "\n"


def full_markdown(curves, metadata, plots):
  return "\n".join([
      "# Kodak rate–distortion benchmark", "",
      "Generated by `benchmarks/kodak.py`; do not edit by hand.", "",
      summary_markdown(curves, metadata),
      *[f"![{title}]({os.path.basename(path)})" for title, path in plots], "",
      "## Per point (means over images)", "",
      "Model estimate: the model's own entropy estimate of the latents, not a "
      "measured file size.", "",
      points_markdown(curves),
      "## Environment", "",
      environment_markdown(metadata),
  ])


# --------------------------------------------------------------------- plots


def _plot(path, title, ylabel, measured, references):
  """measured / references: lists of (label, bpp, values, colour)."""
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt

  figure, axes = plt.subplots(figsize=(8, 6), dpi=110)
  xs = [x for _, bpp, _, _ in measured for x in bpp]
  x_max = 1.05 * max(xs) if xs else 2.6
  visible = []
  for label, bpp, values, colour in references:
    axes.plot(bpp, values, linestyle="--", linewidth=1.2, color=colour,
              label=label)
    visible += [v for x, v in zip(bpp, values) if x <= x_max]
  for label, bpp, values, colour in measured:
    axes.plot(bpp, values, marker="o", markersize=3.5, linewidth=1.6,
              color=colour, label=label)
    visible += values
  axes.set_xlim(0, x_max)
  if visible:
    low, high = min(visible), max(visible)
    margin = 0.04 * (high - low or 1.)
    axes.set_ylim(low - margin, high + margin)
  axes.set_xlabel("bits per pixel (whole file)")
  axes.set_ylabel(ylabel)
  axes.set_title(title)
  axes.grid(True, alpha=0.3)
  axes.legend(fontsize=8, loc="lower right")
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  image_io.write_bytes(path, buffer.getvalue(), overwrite=True)


def write_plots(out_dir, curves, published_curves):
  """PSNR and MS-SSIM dB vs bpp; published curves dashed, in the same colour."""
  from matplotlib import colormaps
  palette = colormaps["tab10"].colors
  plots = []
  for metric, title, ylabel in (
      ("psnr", "Kodak: PSNR (RGB) vs rate", "PSNR RGB (dB)"),
      ("ms_ssim", "Kodak: MS-SSIM (RGB) vs rate",
       "MS-SSIM dB of the mean, −10 log10(1 − MS-SSIM)")):
    measured, references = [], []
    for i, curve in enumerate(curves):
      colour = palette[i % len(palette)]
      values = (curve.means["psnr_rgb"] if metric == "psnr"
                else curve.ms_ssim_db_of_mean())
      pairs = [(x, y) for x, y in zip(curve.means["bpp"], values)
               if x is not None and y is not None]
      measured.append((f"{curve.spec.label} (measured)",
                       [x for x, _ in pairs], [y for _, y in pairs], colour))
      reference = published_curves.get(curve.spec.published_curve, {})
      reference = reference.get(metric)
      if reference is not None:
        values = (reference.values if metric == "psnr" else
                  [metrics.ms_ssim_db(v) for v in reference.values])
        references.append((f"{reference.title} (published)", reference.bpp,
                           values, colour))
    path = os.path.join(out_dir, f"kodak_{metric}.png")
    _plot(path, title, ylabel, measured, references)
    plots.append((title, path))
  return plots
