"""From per-image measurements to curves and their Bjøntegaard deltas.

Averages are means of per-image values at each point (as CompressAI and TFC
do), so e.g. the mean PSNR is not the PSNR of the mean squared error. One
exception, for comparability with published curves: those give only the mean
MS-SSIM per point, so plots and BD-rates in MS-SSIM dB use the dB of the mean
MS-SSIM, -10 log10(1 - mean), for measured and published curves alike. The
tables also report the mean of per-image MS-SSIM dB values.
"""

import dataclasses
import math

from tfcsuite import metrics
from tfcsuite.harness import bjontegaard, published

ANCHOR = "jpeg420"

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


def mean_or_none(values):
  """The mean of `values`; None if one of them is None, or there are none."""
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
                   {field: mean_or_none([r[field] for r in records])
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
  _compare_models(curves)
  return published_curves


def _compare_models(curves):
  """Each model curve's BD-rate against every other model curve of the run
  (e.g. balle18 against balle17), under `comparisons["models"]`."""
  models = [c for c in curves if c.spec.kind == "model"]
  for curve in models:
    curve.comparisons["models"] = {
        other.name: _psnr_deltas(other.means["bpp"], other.means["psnr_rgb"],
                                 curve.means["bpp"], curve.means["psnr_rgb"])
        for other in models if other is not curve}


def rd_loss(bpp, mse, setting):
  """L = mean bpp + lambda * mean MSE, the training objective on Kodak.

  Defined for model checkpoints trained with a rate-distortion lambda (in
  TFC's units, MSE on 0..255 pixels); None otherwise.
  """
  lmbda = ((setting or {}).get("config") or {}).get("lmbda")
  if lmbda is None or bpp is None or mse is None:
    return None
  return bpp + lmbda * mse
