"""Published Kodak rate-distortion curves in TFC's results layout.

TensorFlow Compression publishes aggregate curves of many methods in
`results/image_compression/` of https://github.com/tensorflow/compression:
`<dataset>/<METRIC>_sRGB_<RGB|Y>/<method>.txt`, each a few `#` comment lines
(the first names the method) followed by one "bpp, value" pair per line.
MS-SSIM values are plain (0..1), not dB.
"""

import dataclasses
import math
import os
import re

from tfcsuite import UserError

METRICS = {"psnr": "PSNR_sRGB_RGB", "ms_ssim": "MS-SSIM_sRGB_RGB"}


@dataclasses.dataclass
class Curve:
  name: str    # file name without .txt, e.g. "jpeg420"
  title: str   # the method as the file names it, e.g. "JPEG (4:2:0)"
  bpp: list
  values: list


def check_directory(reference_dir):
  """Refuses a folder that is not TFC's results/image_compression layout."""
  kodak_dir = os.path.join(reference_dir, "kodak", METRICS["psnr"])
  if not os.path.isdir(kodak_dir):
    raise UserError(
        f"reference folder {reference_dir!r} has no kodak/{METRICS['psnr']}/ "
        f"(pass the results/image_compression folder of a clone of "
        f"https://github.com/tensorflow/compression)")


def read_curve(path):
  """Parses one TFC results file; a `UserError` names a malformed line."""
  name = os.path.splitext(os.path.basename(path))[0]
  title, bpp, values = name, [], []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      line = line.strip()
      if line.startswith("#"):
        quoted = re.search(r'data for "(.+?)"', line)
        if quoted and title == name:
          title = quoted.group(1)
        continue
      if not line:
        continue
      try:
        rate, value = (float(field) for field in line.split(","))
      except ValueError:
        raise UserError(f"{path}:{number}: expected 'bpp, value', got "
                        f"{line!r}") from None
      if not (math.isfinite(rate) and math.isfinite(value)):
        raise UserError(f"{path}:{number}: non-finite value")
      bpp.append(rate)
      values.append(value)
  return Curve(name, title, bpp, values)


def load(reference_dir, name, metric):
  """The published Kodak curve `name` for `metric` ("psnr" or "ms_ssim").

  Returns None when the reference folder has no such curve.
  """
  path = os.path.join(reference_dir, "kodak", METRICS[metric], name + ".txt")
  if not os.path.isfile(path):
    return None
  return read_curve(path)
