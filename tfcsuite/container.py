"""The compressed-file container.

Unlike TFC's `PackedTensors` and CompressAI's header, a file says what it is
and whether it is intact. Layout (integers are unsigned LEB128 varints):

    magic      4 bytes  b"TFCS"
    version    1 byte   FORMAT_VERSION
    model      varint length + ASCII      e.g. "balle17"
    checkpoint varint length + ASCII      e.g. "lambda0.01"
    weights    4 bytes  CRC32 of the checkpoint's weights (little endian)
    height, width              varints
    integers   varint count, then varints (side information, e.g. latent shape)
    strings    varint count, then (varint length + bytes) each
    crc32      4 bytes  CRC32 of everything above (little endian)

For a Kodak image with one string this is about 40 bytes of overhead.
"""

import dataclasses
import struct
import zlib

from tfcsuite import UserError

MAGIC = b"TFCS"
FORMAT_VERSION = 1


class ContainerError(UserError):
  """The file is not a valid container for this model."""


@dataclasses.dataclass
class Container:
  model: str
  checkpoint: str
  weights_crc32: int
  height: int
  width: int
  integers: list
  strings: list

  def payload_bytes(self):
    """Size of the entropy-coded strings alone, without any header."""
    return sum(len(s) for s in self.strings)


def _varint(value):
  if value < 0:
    raise ValueError(f"varints are unsigned, got {value}")
  out = bytearray()
  while True:
    byte = value & 0x7F
    value >>= 7
    if value:
      out.append(byte | 0x80)
    else:
      out.append(byte)
      return bytes(out)


def _text(value):
  data = value.encode("ascii")
  return _varint(len(data)) + data


def pack(container):
  """Serializes a `Container` to bytes."""
  body = bytearray(MAGIC)
  body.append(FORMAT_VERSION)
  body += _text(container.model)
  body += _text(container.checkpoint)
  body += struct.pack("<I", container.weights_crc32)
  body += _varint(container.height) + _varint(container.width)
  body += _varint(len(container.integers))
  for value in container.integers:
    body += _varint(value)
  body += _varint(len(container.strings))
  for string in container.strings:
    body += _varint(len(string)) + string
  body += struct.pack("<I", zlib.crc32(body))
  return bytes(body)


class _Reader:

  def __init__(self, data):
    self.data = data
    self.position = 0

  def take(self, size):
    end = self.position + size
    if end > len(self.data):
      raise ContainerError("compressed file is truncated")
    chunk = self.data[self.position:end]
    self.position = end
    return chunk

  def varint(self):
    value = shift = 0
    while True:
      byte = self.take(1)[0]
      value |= (byte & 0x7F) << shift
      if not byte & 0x80:
        return value
      shift += 7
      if shift > 63:
        raise ContainerError("compressed file is corrupted (bad varint)")

  def text(self):
    try:
      return self.take(self.varint()).decode("ascii")
    except UnicodeDecodeError:
      raise ContainerError("compressed file is corrupted (bad name)") from None


def unpack(data, expected_model=None):
  """Parses bytes into a `Container`, or raises a one-line `ContainerError`."""
  if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
    raise ContainerError("not a compressed image file of this suite "
                         "(missing TFCS signature)")
  if len(data) < len(MAGIC) + 1 + 4:
    raise ContainerError("compressed file is truncated")
  version = data[len(MAGIC)]
  if version != FORMAT_VERSION:
    raise ContainerError(f"unsupported container version {version} "
                         f"(this software reads version {FORMAT_VERSION})")
  body, (stored_crc,) = data[:-4], struct.unpack("<I", data[-4:])
  reader = _Reader(body)
  reader.take(len(MAGIC) + 1)
  try:
    model = reader.text()
    checkpoint = reader.text()
    (weights_crc32,) = struct.unpack("<I", reader.take(4))
    height, width = reader.varint(), reader.varint()
    integers = [reader.varint() for _ in range(reader.varint())]
    strings = [reader.take(reader.varint()) for _ in range(reader.varint())]
  except ContainerError:
    # A shortened file shifts the CRC into the body; say which it is.
    if zlib.crc32(body) != stored_crc:
      raise ContainerError("compressed file is truncated or corrupted "
                           "(checksum mismatch)") from None
    raise
  if zlib.crc32(body) != stored_crc:
    raise ContainerError("compressed file is truncated or corrupted "
                         "(checksum mismatch)")
  if reader.position != len(body):
    raise ContainerError("compressed file has trailing data")
  if expected_model is not None and model != expected_model:
    raise ContainerError(f"file was compressed by model {model!r}; "
                         f"decompress it with models/{model}.py")
  return Container(model, checkpoint, weights_crc32, height, width, integers,
                   strings)
