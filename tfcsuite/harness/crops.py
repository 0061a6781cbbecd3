"""Side-by-side crops of Kodak images at (nearly) equal bit rates.

For each crop image and target bit rate, every curve contributes the point
whose file for that image is nearest the target (in log bpp), if it lies
within `TOLERANCE` of it. The reconstruction is the harness's own: the file
kept in the harness cache is decoded, or, where the cache holds no file, the
point encodes the image through `evaluation.measure` and keeps the file there
(so the next report only decodes). The bpp and PSNR shown are those of the
whole decoded file; a warning names any that differ from the committed
measurement (another library version or other weights).
"""

import dataclasses
import io
import math
import os
import sys

import numpy as np
from PIL import Image

from tfcsuite import image_io, metrics
from tfcsuite.harness import evaluation, recorded_points

TOLERANCE = 0.3   # A point's bpp may differ from the target by 30 %.
SIZE = 128        # Crop side in pixels (shown at 2x).


@dataclasses.dataclass(frozen=True)
class Region:
  image: str   # Kodak file name.
  x: int
  y: int
  what: str    # What the crop shows, for its caption.


# The macaw's eye (fine feathers), a painted eye (skin, colour edges) and the
# lighthouse's fence (thin straight edges, aliasing).
REGIONS = (Region("kodim23.png", 440, 112, "the macaw's eye"),
           Region("kodim15.png", 400, 90, "the painted eye"),
           Region("kodim19.png", 40, 460, "the fence and lifebuoy"))
TARGETS = (0.25, 0.5)


@dataclasses.dataclass
class Tile:
  """One curve's reconstruction of a region near a target rate."""
  curve: str
  label: str    # The curve's label, e.g. "JPEG 4:2:0".
  point: str    # The point's label, e.g. "q10".
  file: str     # The crop PNG, relative to the report folder.
  bpp: float    # Of the whole file.
  psnr: float   # Of the whole image, RGB.
  crop_psnr: float


@dataclasses.dataclass
class Comparison:
  region: Region
  target: float
  tiles: list          # Tiles, by bpp.
  missing: list        # (curve label, why it has no tile).


def nearest_points(curves, rows, image, target):
  """{curve name: point index} within the tolerance, and (label, why) of
  the other curves."""
  chosen, missing = {}, []
  for curve in curves:
    candidates = [(abs(math.log(row["bpp"] / target)), row["bpp"],
                   curve.points.index(row["point"])) for row in rows
                  if row["curve"] == curve.name and row["image"] == image
                  and row["bpp"] and row["point"] in curve.points]
    if not candidates:
      missing.append((curve.spec.label, "no point for this image"))
      continue
    _, bpp, index = min(candidates)
    if abs(bpp / target - 1.) <= TOLERANCE:
      chosen[curve.name] = index
    else:
      missing.append((curve.spec.label,
                      f"nearest {bpp:.3f} bpp, beyond ±{TOLERANCE:.0%}"))
  return chosen, missing


def coded_file(point, cache, image_name, image):
  """The point's file for the image: kept in the cache, or made now."""
  path = cache.bitstream_path(point, image_name)
  if cache.load(point, image_name) is None:
    os.makedirs(cache.folder(point), exist_ok=True)
    cache.store(point, image_name, evaluation.measure(
        point, image_name, image, path, keep_bitstream=True))
  elif not os.path.exists(path):  # Measured, but its file was not kept.
    os.makedirs(cache.folder(point), exist_ok=True)
    image_io.write_bytes(path, point.encode(image), overwrite=True)
  return image_io.read_bytes(path)


def crop(image, region):
  return image[region.y:region.y + SIZE, region.x:region.x + SIZE]


def write_png(path, image):
  """Writes an array or a PIL image as an optimized PNG."""
  if not hasattr(image, "save"):
    image = Image.fromarray(np.asarray(image, np.uint8))
  buffer = io.BytesIO()
  image.save(buffer, format="PNG", optimize=True)
  image_io.write_bytes(path, buffer.getvalue(), overwrite=True)


def _recorded(rows, curve, point, image):
  return next(row for row in rows if (row["curve"], row["point"],
                                      row["image"]) == (curve, point, image))


def make_comparisons(curves, rows, threads, cache, image_paths, out_dir,
                     folder, regions=REGIONS, targets=TARGETS):
  """Writes the crops under out_dir/folder; returns the `Comparison`s and
  {region image: original crop file}.

  curves: `CurveResult`s of the results files (each crop's point found in
  `rows`, their per-image CSV rows); threads: {curve name: threads it was
  measured with}; image_paths: {name: path}.
  """
  images = {r.image: image_io.read_image(image_paths[r.image])
            for r in regions}
  originals = {}
  for region in regions:
    name = f"{os.path.splitext(region.image)[0]}_original.png"
    write_png(os.path.join(out_dir, folder, name),
              crop(images[region.image], region))
    originals[region.image] = f"{folder}/{name}"

  wanted, comparisons = {}, []
  for region in regions:
    for target in targets:
      chosen, missing = nearest_points(curves, rows, region.image, target)
      comparisons.append(Comparison(region, target, [], missing))
      for curve in curves:
        if curve.name in chosen:
          wanted.setdefault((curve.name, chosen[curve.name]), []).append(
              (region, comparisons[-1]))

  by_name = {curve.name: curve for curve in curves}
  for (name, index), uses in wanted.items():
    curve = by_name[name]
    point = recorded_points.point_for(curve, index, threads[name])
    if point is None:
      for _, comparison in uses:
        comparison.missing.append(
            (curve.spec.label, "its checkpoint is not found in checkpoints/ "
             "(retrained since, or not shipped)"))
      continue
    # Builds the model (and warms it up) on a crop: cheaper than a whole image.
    point.prepare(crop(images[uses[0][0].image], uses[0][0]))
    tiles = {}
    for region, comparison in uses:
      if region.image not in tiles:
        tiles[region.image] = _tile(point, curve, cache, region,
                                    images[region.image], rows, out_dir,
                                    folder)
      comparison.tiles.append(tiles[region.image])
    point.release()
  for comparison in comparisons:
    comparison.tiles.sort(key=lambda tile: tile.bpp)
  return comparisons, originals


def _tile(point, curve, cache, region, image, rows, out_dir, folder):
  data = coded_file(point, cache, region.image, image)
  reconstruction = np.asarray(point.decode(data))
  height, width = image.shape[:2]
  bpp = metrics.bits_per_pixel(len(data), height, width)
  psnr = metrics.psnr(image, reconstruction)
  recorded = _recorded(rows, curve.name, point.label, region.image)
  if not math.isclose(bpp, recorded["bpp"], rel_tol=1e-9):
    print(f"report: warning: {curve.name} {point.label} {region.image}: "
          f"{bpp:.4f} bpp now, {recorded['bpp']:.4f} in the results file",
          file=sys.stderr)
  stem = os.path.splitext(region.image)[0]
  name = f"{stem}_{curve.name}_{point.label}.png"
  write_png(os.path.join(out_dir, folder, name), crop(reconstruction, region))
  return Tile(curve=curve.name, label=curve.spec.label, point=point.label,
              file=f"{folder}/{name}", bpp=bpp, psnr=psnr,
              crop_psnr=metrics.psnr(crop(image, region),
                                     crop(reconstruction, region)))
