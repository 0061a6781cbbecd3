"""Rate-distortion plots: measured curves solid, published ones dashed."""

import io
import os

from tfcsuite import image_io, metrics


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
