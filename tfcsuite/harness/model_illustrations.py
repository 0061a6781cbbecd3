"""What each registered model shows of one image besides its reconstruction.

Every registered model with a default checkpoint is asked for
`CodingModel.illustrations(image)` (e.g. an importance map, an intermediate
image); whatever it returns is written as PNG, larger ones scaled down to
`MAX_SIDE`. Nothing here knows any model.
"""

import dataclasses
import os

import numpy as np
from PIL import Image

from tfcsuite import checkpoint as checkpoint_lib
from tfcsuite import zoo
from tfcsuite.harness import crops

MAX_SIDE = 384  # Keeps the page small; half a Kodak image.


@dataclasses.dataclass
class Illustration:
  model: str
  checkpoint: str
  caption: str
  file: str        # PNG, relative to the report folder.
  size: tuple      # (width, height) the model returned.
  shown: tuple     # (width, height) of the PNG.


def _checked(model, item):
  """(caption, uint8 (H, W, 3) array); a TypeError naming the model else."""
  try:
    caption, array = item
  except (TypeError, ValueError):
    raise TypeError(f"{model}.illustrations must return (caption, array) "
                    f"pairs, got {item!r:.80}") from None
  array = np.asarray(array)
  if (not isinstance(caption, str) or array.dtype != np.uint8 or
      array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1):
    raise TypeError(f"{model}.illustrations: {caption!r:.60} is not a "
                    f"caption with a uint8 (H, W, 3) array "
                    f"({array.dtype}, shape {array.shape})")
  return caption, array


def _scaled(array):
  height, width = array.shape[:2]
  scale = MAX_SIDE / max(height, width)
  if scale >= 1:
    return array
  size = (max(1, round(width * scale)), max(1, round(height * scale)))
  return np.asarray(Image.fromarray(array).resize(size, Image.LANCZOS))


def illustrate(image, stem, out_dir, folder, models=None, checkpoints=None):
  """Writes every registered model's illustrations of `image` (file stem
  `stem`); returns `Illustration`s in registry order.

  models: names to ask (default: every registered model with a shipped
  default checkpoint); checkpoints: {model: checkpoint folder} instead of
  a model's default checkpoint.
  """
  names = list(zoo.MODEL_SCRIPTS) if models is None else models
  made = []
  for name in names:
    script = zoo.load_script(name)
    path = (checkpoints or {}).get(name) or script.default_checkpoint_path()
    if not os.path.isdir(path):
      continue
    loaded = checkpoint_lib.load(path, name)
    model = script.coding_model(loaded)
    for index, item in enumerate(model.illustrations(image)):
      caption, array = _checked(name, item)
      shown = _scaled(array)
      file = f"{folder}/{stem}_{name}_illustration{index + 1}.png"
      crops.write_png(os.path.join(out_dir, file), shown)
      made.append(Illustration(
          model=name, checkpoint=loaded.name, caption=caption, file=file,
          size=(array.shape[1], array.shape[0]),
          shown=(shown.shape[1], shown.shape[0])))
  return made
