"""The checkpoint campaign's progress: Kodak RD loss against training time.

Reads a list of measurements, one per checkpoint that was evaluated,

  [{"model": "balle17", "checkpoint": "lambda0.01", "training_hours": 1.76,
    "kodak_L": 1.177, "bd_rate_vs_jpeg420": -13.4}, ...]

(`kodak_L` is the harness's RD loss L = mean bpp + λ · mean MSE of the
model's λ 0.01 checkpoint, null in an entry that measures a set whose other
checkpoints changed; `bd_rate_vs_jpeg420` the whole curve's BD-rate in
percent, null when it has none; optionally `set_training_hours`, the whole
curve's training time, at which the BD-rate is plotted; optionally `curve`,
the training run the entry belongs to: entries of one curve are joined by a
line, default one curve per model) and plots both against CPU-hours of
training. A curve of at least 4 L measurements also gets its fitted learning
curve L(h) = a + b h^-c, drawn dashed to twice its last hour: an
extrapolation of the trend, marked as such.
"""

import io
import json

import numpy as np

from tfcsuite import UserError, image_io

FIELDS = ("model", "checkpoint", "training_hours", "kodak_L",
          "bd_rate_vs_jpeg420")


def read(path):
  """The measurements of a progress file; UserError if malformed."""
  try:
    with open(path) as f:
      entries = json.load(f)
  except (OSError, ValueError) as error:
    raise UserError(f"cannot read training progress {path!r}: {error}"
                    ) from None
  if not isinstance(entries, list) or not entries:
    raise UserError(f"{path!r}: expected a non-empty list of measurements")
  for entry in entries:
    missing = [f for f in FIELDS if not isinstance(entry, dict) or
               f not in entry]
    if missing:
      raise UserError(f"{path!r}: an entry lacks {', '.join(missing)}")
  return entries


def _set_hours(entry):
  """Hours of the whole curve's training (a BD-rate's cost), if recorded."""
  return entry.get("set_training_hours") or entry["training_hours"]


def curves(entries):
  """Curve label -> its entries in order of training hours."""
  labels = dict.fromkeys(e.get("curve", e["model"]) for e in entries)
  return {label: sorted((e for e in entries
                         if e.get("curve", e["model"]) == label),
                        key=lambda e: e["training_hours"])
          for label in labels}


def loss_points(rows):
  """(training hours, Kodak L) of the entries that measured L."""
  measured = [e for e in rows if e["kodak_L"] is not None]
  return ([e["training_hours"] for e in measured],
          [e["kodak_L"] for e in measured])


def fit_learning_curve(hours, losses):
  """(a, b, c) of L(h) = a + b * h**-c fitted by least squares, or None
  with fewer than 4 points or no convergence. a is the loss the trend
  approaches; `hours_to_reach` inverts it."""
  if len(hours) < 4:
    return None
  from scipy import optimize
  hours, losses = np.asarray(hours, float), np.asarray(losses, float)
  start = (0.9 * losses.min(), (losses.max() - losses.min()) or 1., 1.)
  try:
    params, _ = optimize.curve_fit(
        lambda h, a, b, c: a + b * h ** -c, hours, losses, p0=start,
        bounds=([0., 0., 0.05], [np.inf, np.inf, 5.]), maxfev=20000)
  except (RuntimeError, ValueError):
    return None
  return tuple(float(p) for p in params)


def hours_to_reach(fit, loss):
  """Training hours at which the fitted curve reaches `loss` (inf if its
  asymptote a is not below it)."""
  a, b, c = fit
  if loss <= a:
    return float("inf")
  return float((b / (loss - a)) ** (1. / c))


def write_plot(entries, path):
  """Writes the PNG: L and BD-rate vs training hours, a line per model."""
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt

  figure, (loss_axes, rate_axes) = plt.subplots(1, 2, figsize=(10, 4),
                                                dpi=100)
  right = max(_set_hours(e) for e in entries)
  for label, rows in curves(entries).items():
    hours, losses = loss_points(rows)
    line, = loss_axes.plot(hours, losses, marker="o", label=label)
    fit = fit_learning_curve(hours, losses)
    if fit:
      trend = np.linspace(min(hours), 2 * max(hours), 100)
      a, b, c = fit
      loss_axes.plot(trend, a + b * trend ** -c, "--", color=line.get_color(),
                     linewidth=0.8, label=f"fit {a:.2f} + {b:.2f} h^-{c:.2f} "
                     f"(extrapolated)")
      right = max(right, 2 * max(hours))
    rated = [e for e in rows if e["bd_rate_vs_jpeg420"] is not None]
    if rated:
      rate_axes.plot([_set_hours(e) for e in rated],
                     [e["bd_rate_vs_jpeg420"] for e in rated], marker="o",
                     color=line.get_color(), label=label)
    # A longer curve's labels would overlap: its first and last only.
    for e in rated if len(rated) < 3 else (rated[0], rated[-1]):
      rate_axes.annotate(f"{e['bd_rate_vs_jpeg420']:+.1f} %",
                         (_set_hours(e), e["bd_rate_vs_jpeg420"]),
                         textcoords="offset points", xytext=(4, 4),
                         fontsize=8)
  loss_axes.set_ylabel("Kodak RD loss L at λ 0.01 (lower is better)")
  rate_axes.set_ylabel("BD-rate vs JPEG 4:2:0, % (negative: fewer bits)")
  rate_axes.axhline(0, color="gray", linewidth=0.8)
  for axes in (loss_axes, rate_axes):
    axes.set_xlabel("training time (CPU-hours)")
    # Room on the right for the last point's label.
    axes.set_xlim(0, 1.15 * right)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="upper right")
  figure.suptitle("Checkpoint campaign: Kodak quality against training time")
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  image_io.write_bytes(path, buffer.getvalue(), overwrite=True)
