"""`tfcs models`: the registered models, their shipped checkpoints, and each
checkpoint's Kodak means from the committed harness results (never a number
that no committed run measured; see `tfcsuite.harness.shipped_results`)."""

import dataclasses

from tfcsuite import checkpoint as checkpoint_lib, config, zoo
from tfcsuite.harness import shipped_results

NOT_MEASURED = "—"
UNCHECKED = "†"
HEADER = ("checkpoint", "weights", "operating point", "Kodak bpp", "PSNR dB")
LEGEND = (f"{NOT_MEASURED}: no committed Kodak measurement. {UNCHECKED}: "
          f"matched by checkpoint name, configuration and options (the run "
          f"predates recorded weight fingerprints).")


def _options_text(script, options):
  return " ".join(f"{config.flag_of(script.compress_options, name)} {value}"
                  for name, value in options.items())


def _rows(script):
  """Table rows of a model's shipped checkpoints, and the results used."""
  rows, sources = [], set()
  for path in zoo.shipped_checkpoints(script.name):
    checkpoint = checkpoint_lib.load(path, script.name)
    name = checkpoint.name + (" (default)" if checkpoint.name ==
                              script.default_checkpoint else "")
    weights = f"{checkpoint.fingerprint:08x}"
    points = shipped_results.kodak_means(script, checkpoint)
    if not points:  # The harness measures no point of it.
      rows.append((name, weights, NOT_MEASURED, NOT_MEASURED, NOT_MEASURED))
    for point in points:
      mean = point.kodak
      values = (NOT_MEASURED, NOT_MEASURED)
      if mean is not None:
        mark = "" if mean.fingerprint_checked else UNCHECKED
        values = (f"{mean.bpp:.3f}{mark}", f"{mean.psnr:.2f}{mark}")
        sources.add(f"{mean.source} ({mean.date})")
      rows.append((name, weights,
                   _options_text(script, point.options) or "-", *values))
      name = weights = ""  # Further points of the same checkpoint.
  return rows, sources


def _table(rows):
  widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
  return ["  " + "  ".join(cell.ljust(width) if i < 3 else cell.rjust(width)
                           for i, (cell, width) in enumerate(zip(row, widths)))
          .rstrip() for row in rows]


def text():
  """What `tfcs models` prints."""
  lines = []
  for name in sorted(zoo.MODEL_SCRIPTS):
    script = zoo.load_script(name)
    lines += [f"{name}: {script.description}",
              f"  script: {zoo.MODEL_SCRIPTS[name]}"]
    if script.compress_options:
      lines.append("  compress options (defaults): " + _options_text(
          script, dataclasses.asdict(script.compress_options())))
    rows, sources = _rows(script)
    if rows:
      lines += _table([HEADER] + rows)
    else:
      lines.append(f"  no shipped checkpoint under checkpoints/{name}/")
    if sources:
      lines.append("  Kodak means from " + ", ".join(sorted(sources)))
    lines.append("")
  return "\n".join(lines + [LEGEND])
