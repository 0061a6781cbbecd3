"""`tfcs info`: what a compressed file holds, read from its header alone.

Nothing is decoded and no model is built: the container (`tfcsuite.container`)
names its model and checkpoint and carries the weights' CRC32, which is
compared with the shipped checkpoint of that name (or the retired copy of it
that has the file's weights, `tfcsuite.zoo.locate_file_checkpoint`); an
archived checkpoint is named, not restored.
"""

import os

from tfcsuite import archive, checkpoint, container, image_io, metrics, zoo


def _weights_line(parsed):
  crc = f"{parsed.weights_crc32:08x}"
  if parsed.model not in zoo.MODEL_SCRIPTS:
    return f"{crc} (model {parsed.model!r} is not registered here)"
  folder, archived = zoo.locate_file_checkpoint(
      parsed.model, parsed.checkpoint, parsed.weights_crc32)
  if archived:
    return (f"{crc} (matches the archived checkpoint {archived['path']}; "
            f"decompress restores it from git history or "
            f"${archive.MIRROR_VARIABLE})")
  if folder is None:
    return (f"{crc} (no shipped checkpoint {parsed.checkpoint!r}; decompress "
            f"needs --model_path)")
  where = os.path.relpath(folder, zoo.REPO_ROOT)
  shipped = checkpoint.fingerprint_of(folder)
  if shipped == parsed.weights_crc32:
    return f"{crc} (matches the shipped checkpoint {where})"
  return (f"{crc} (differs from the shipped checkpoint {where}, {shipped:08x}: "
          f"other weights; decompress needs --model_path)")


def describe(path):
  """The lines `tfcs info` prints about the file `path`."""
  data = image_io.read_bytes(path)
  parsed = container.unpack(data)
  payload = parsed.payload_bytes()
  bpp = (f"{metrics.bits_per_pixel(len(data), parsed.height, parsed.width):.4f}"
         if parsed.height * parsed.width else "n/a (no pixels)")
  return [
      f"File: {path}",
      f"Model: {parsed.model}",
      f"Checkpoint: {parsed.checkpoint}",
      f"Weights CRC32: {_weights_line(parsed)}",
      f"Image size: {parsed.width}x{parsed.height} pixels (width x height)",
      f"File bytes: {len(data)}",
      f"Bits per pixel (whole file): {bpp}",
      f"Payload bytes: {payload} in {len(parsed.strings)} coded string(s) "
      f"(the container adds {len(data) - payload} bytes)",
  ]
