"""Markdown reports of a run: summary table, per-point table, environment."""

import os

from tfcsuite import count
from tfcsuite.harness.curves import ANCHOR, mean_or_none, rd_loss


def _number(value, digits, suffix="", signed=False):
  if value is None:
    return "n/a"
  return f"{value:{'+' if signed else ''}.{digits}f}{suffix}"


SUMMARY_HEADER = (
    "Curve", "Points", "Mean bpp", "BD-rate vs JPEG 4:2:0",
    "BD-PSNR vs JPEG 4:2:0", "Published curve", "BD-rate vs published",
    "BD-PSNR vs published", "Encode ms", "Decode ms")


def summary_table(curves):
  """(rows of cells under `SUMMARY_HEADER`, notes the cells refer to as
  [n]); curve names in Markdown code spans."""
  rows, notes = [], []

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
    rows.append([title, str(len(curve.points)),
                 f"{min(bpp):.3f}–{max(bpp):.3f}" if bpp else "n/a", *here,
                 *paper_cells,
                 _number(mean_or_none(curve.means["encode_ms"]), 1),
                 _number(mean_or_none(curve.means["decode_ms"]), 1)])
  return rows, notes


def summary_markdown(curves, metadata):
  """One row per curve; the table the README shows."""
  lines = [
      f"Kodak, {count(len(metadata['images']), 'image')}; "
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
      "| " + " | ".join(SUMMARY_HEADER) + " |",
      "|---|--:|---|--:|--:|---|--:|--:|--:|--:|",
  ]
  rows, notes = summary_table(curves)
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  if notes:
    lines += [""] + [f"- [{i}] {note}" for i, note in enumerate(notes, 1)]
  return "\n".join(lines + _models_table(curves)) + "\n"


def _models_table(curves):
  """Lines of a table of BD-rates between learned models (row vs column)."""
  models = [c for c in curves if "models" in c.comparisons]
  if len(models) < 2:
    return []
  lines = ["", "BD-rate (PSNR) of each model (row) against each other model "
           "(column) measured in this run; n/a where the curves' PSNR ranges "
           "do not overlap.", "",
           "| Model | " + " | ".join(f"vs `{c.name}`" for c in models) + " |",
           "|---|" + "--:|" * len(models)]
  for curve in models:
    cells = ["—" if other is curve else _number(
        curve.comparisons["models"][other.name]["bd_rate_psnr"], 1, " %",
        signed=True) for other in models]
    lines.append(f"| `{curve.name}` | " + " | ".join(cells) + " |")
  return lines


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
