"""The checkpoint campaign's progress: Kodak RD loss against training time.

Reads a list of measurements, one per checkpoint that was evaluated,

  [{"model": "balle17", "checkpoint": "lambda0.01", "training_hours": 1.76,
    "kodak_L": 1.177, "bd_rate_vs_jpeg420": -13.4}, ...]

(`kodak_L` is the harness's RD loss L = mean bpp + λ · mean MSE of the
model's λ 0.01 checkpoint; `bd_rate_vs_jpeg420` the whole curve's BD-rate in
percent, null when it has none; optionally `set_training_hours`, the whole
curve's training time, at which the BD-rate is plotted) and plots both
against CPU-hours of training.
"""

import io
import json

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


def write_plot(entries, path):
  """Writes the PNG: L and BD-rate vs training hours, a line per model."""
  import matplotlib
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt

  figure, (loss_axes, rate_axes) = plt.subplots(1, 2, figsize=(10, 4),
                                                dpi=100)
  models = list(dict.fromkeys(entry["model"] for entry in entries))
  for model in models:
    rows = sorted((e for e in entries if e["model"] == model),
                  key=lambda e: e["training_hours"])
    hours = [e["training_hours"] for e in rows]
    loss_axes.plot(hours, [e["kodak_L"] for e in rows], marker="o",
                   label=model)
    rated = [e for e in rows if e["bd_rate_vs_jpeg420"] is not None]
    rate_axes.plot([_set_hours(e) for e in rated],
                   [e["bd_rate_vs_jpeg420"] for e in rated], marker="o",
                   label=model)
    for e in rated:
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
    axes.set_xlim(0, 1.15 * max(_set_hours(e) for e in entries))
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
  figure.suptitle("Checkpoint campaign: Kodak quality against training time")
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  image_io.write_bytes(path, buffer.getvalue(), overwrite=True)
