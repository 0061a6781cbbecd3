"""Mutated compressed files, and what decoding them must do (issue 19).

`mutate(data, rng)` damages a valid file in one of `MUTATIONS` ways: the raw
bytes (truncated, bit-flipped, extended, shuffled, replaced: the CRC then
refuses nearly all of them), or the parsed container repacked with a fresh
CRC (the mutations that reach the models and TFC's range decoder: payload
strings truncated, flipped, extended, replaced or emptied; header sizes and
integers changed, alone or consistently with the model's `Layout.strides`,
i.e. files crafted to pass every check).

`check(data, models)` decodes through the decompress command's own code
(`coding_commands.decoded_image`) and enforces the contract: a uint8 image
of the declared size, or a one-line `UserError` free of TensorFlow's internal
names; anything else raises `ContractViolation`. Used by
benchmarks/fuzz.py (long runs) and tests/test_fuzz.py (a bounded sample).
"""

import dataclasses
import time

import numpy as np

from tfcsuite import UserError, coding_commands, container, limits, zoo

RAW = ("truncate", "flip_bits", "extend", "shuffle", "random_bytes")
REPACKED = ("payload_truncate", "payload_flip", "payload_extend",
            "payload_random", "payload_empty", "header_size",
            "header_integers", "crafted_size")
MUTATIONS = RAW + REPACKED


# A pixel limit that keeps every case quick: a model that stores no shape
# (vaegan) decodes any declared size up to the limit, validly and in tiles
# of bounded memory, but in a time that grows with it (a 2.8 KB file
# declaring 3012x2514 takes about a minute of CPU).
QUICK_MAX_PIXELS = 1 << 20


class ContractViolation(AssertionError):
  """Decoding a mutated file did something it must never do."""


def _random_bytes(rng, size):
  return bytes(rng.getrandbits(8) for _ in range(size))


def _flipped(data, rng):
  """`data` with 1 to 8 random bits flipped."""
  data = bytearray(data)
  for _ in range(rng.randint(1, 8) if data else 0):
    position = rng.randrange(len(data) * 8)
    data[position // 8] ^= 1 << position % 8
  return bytes(data)


def _raw(kind, data, rng):
  data = bytearray(data)
  if kind == "truncate":
    return bytes(data[:rng.randrange(len(data))])
  if kind == "flip_bits":
    return _flipped(data, rng)
  if kind == "extend":
    return bytes(data) + _random_bytes(rng, rng.randint(1, 64))
  if kind == "shuffle":
    a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    c = rng.randrange(len(data) - (b - a) + 1)
    chunk, rest = data[a:b], data[:a] + data[b:]
    return bytes(rest[:c] + chunk + rest[c:])
  keep = data[:4] if rng.random() < .5 else b""  # Sometimes the magic.
  return bytes(keep) + _random_bytes(rng, rng.randint(0, 256))


def _mutated_string(kind, string, rng):
  string = bytearray(string)
  if kind == "payload_truncate":
    return bytes(string[:rng.randrange(len(string) + 1)])
  if kind == "payload_flip":
    return _flipped(string, rng)
  if kind == "payload_extend":
    return bytes(string) + _random_bytes(rng, rng.randint(1, 64))
  if kind == "payload_random":
    return _random_bytes(rng, rng.randint(0, 2 * len(string) + 8))
  return b""


CRAFTED_SIDE_BITS = 9  # Crafted sides are 1 to 2^9 = 512 pixels.


def _crafted_side(rng):
  """1 to 512, log-uniform: the same range of sizes as a uniform draw, but
  sizes near the seed's are as likely as large ones, and a crafted file
  declares a tenth of the pixels on average (~6,700, not ~66,000)."""
  return round(2 ** rng.uniform(0, CRAFTED_SIDE_BITS))


def _crafted_size(parsed, layout, rng):
  """New image sizes, with every strided shape field made to fit them."""
  parsed.height, parsed.width = _crafted_side(rng), _crafted_side(rng)
  strides = dict(layout.strides)
  values, position = list(parsed.integers), 0
  for name, count in layout.integers:
    if name in strides and count == 2:
      values[position:position + 2] = [
          -(-side // strides[name]) for side in (parsed.height, parsed.width)]
    position += count
  parsed.integers = values


def _repacked(kind, data, rng, layout):
  parsed = container.unpack(data)
  if kind.startswith("payload_"):
    index = rng.randrange(len(parsed.strings))
    parsed.strings[index] = _mutated_string(kind, parsed.strings[index], rng)
  elif kind == "header_size":
    side = lambda: rng.choice([0, 1, rng.randint(1, 4096), 2 ** 16,
                               rng.getrandbits(32)])
    parsed.height, parsed.width = side(), side()
  elif kind == "header_integers":
    for _ in range(rng.randint(1, 3)):
      if parsed.integers:
        parsed.integers[rng.randrange(len(parsed.integers))] = rng.choice(
            [0, 1, rng.randint(0, 300), rng.getrandbits(40)])
  else:
    _crafted_size(parsed, layout, rng)
  return container.pack(parsed)


def mutate(data, rng, layout, kind=None):
  """(kind, mutated bytes) of a valid file `data` whose model has `layout`."""
  kind = kind or rng.choice(MUTATIONS)
  if kind in RAW:
    return kind, _raw(kind, data, rng)
  return kind, _repacked(kind, data, rng, layout)


@dataclasses.dataclass
class Outcome:
  decoded: bool
  message: str
  seconds: float


def check(data, models, max_pixels=limits.MAX_PIXELS):
  """Decodes `data` as `decompress --max_pixels` would; the `Outcome`, or
  raises `ContractViolation`."""
  start = time.perf_counter()
  try:
    image = coding_commands.decoded_image(data, models, max_pixels=max_pixels)
  except UserError as error:
    message = str(error)
    if (not message or "\n" in message or "{{" in message or
        "[Op:" in message):
      raise ContractViolation(f"error is not one clean line: {message!r}")
    return Outcome(False, message, time.perf_counter() - start)
  except Exception as error:  # pylint: disable=broad-except
    raise ContractViolation(f"{type(error).__name__}: {error}") from error
  parsed = container.unpack(data)
  if (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or
      image.shape[:2] != (parsed.height, parsed.width)):
    raise ContractViolation(f"decoded {getattr(image, 'shape', image)!r}, "
                            f"not a uint8 {parsed.width}x{parsed.height} image")
  return Outcome(True, "", time.perf_counter() - start)


def valid_file(name, image, models):
  """A file of `image` made with model `name`'s default checkpoint."""
  from tfcsuite import coding
  script = zoo.load_script(name)
  checkpoint, model = models.get(script, script.default_checkpoint_path())
  return container.pack(coding.encode(model, checkpoint, image)), model.layout
