"""How many bytes of a classical codec's file are coded image data.

`payload_bytes(format_name, data)` walks the file's container structure and
counts the entropy-coded image data only, so that header overhead (markers,
tables, boxes, chunk headers, metadata) can be reported apart from it:

  * JPEG: the entropy-coded segments that follow each SOS marker segment
    (restart markers inside them included), up to the next marker;
  * WebP: the data of the `VP8 ` / `VP8L` (and `ALPH`) chunks of the RIFF file;
  * AVIF: the data of the ISO BMFF `mdat` boxes (the AV1 bitstream);
  * JPEG 2000: the data after each tile-part's SOD marker, inside the `jp2c`
    box of a JP2 file or in a bare J2K codestream.
"""

import struct


class BitstreamError(ValueError):
  """The file does not have the structure its format prescribes."""


def _jpeg(data):
  if data[:2] != b"\xff\xd8":
    raise BitstreamError("JPEG file does not start with SOI")
  position, payload = 2, 0
  while position + 1 < len(data):
    if data[position] != 0xFF:
      raise BitstreamError(f"JPEG marker expected at byte {position}")
    marker = data[position + 1]
    if marker == 0xFF:  # Fill byte before a marker.
      position += 1
      continue
    if marker == 0xD9:  # EOI
      return payload
    if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # Markers without length.
      position += 2
      continue
    (length,) = struct.unpack(">H", data[position + 2:position + 4])
    position += 2 + length
    if marker == 0xDA:  # SOS: entropy-coded data runs to the next marker.
      start = position
      while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
          raise BitstreamError("JPEG scan is not terminated by a marker")
        following = data[position + 1]
        # 0xFF00 is a stuffed data byte; RSTn markers belong to the scan.
        if following == 0x00 or 0xD0 <= following <= 0xD7:
          position += 2
          continue
        break
      payload += position - start
  raise BitstreamError("JPEG file has no EOI marker")


def _boxes(data, start=0, end=None):
  """Yields (type, content start, content end) of ISO BMFF / JP2 boxes."""
  end = len(data) if end is None else end
  position = start
  while position + 8 <= end:
    size, kind = struct.unpack(">I4s", data[position:position + 8])
    header = 8
    if size == 1:  # 64-bit size follows the type.
      (size,) = struct.unpack(">Q", data[position + 8:position + 16])
      header = 16
    elif size == 0:  # The box extends to the end of the file.
      size = end - position
    if size < header or position + size > end:
      raise BitstreamError(f"box {kind!r} at byte {position} has a bad size")
    yield kind, position + header, position + size
    position += size


def _avif(data):
  return sum(stop - start for kind, start, stop in _boxes(data)
             if kind == b"mdat")


def _webp(data):
  if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
    raise BitstreamError("not a RIFF WebP file")
  position, payload = 12, 0
  while position + 8 <= len(data):
    kind, size = struct.unpack("<4sI", data[position:position + 8])
    if kind in (b"VP8 ", b"VP8L", b"ALPH"):
      payload += size
    position += 8 + size + (size & 1)  # Chunks are padded to even sizes.
  return payload


def _j2k_codestream(data, start, end):
  if data[start:start + 2] != b"\xff\x4f":
    raise BitstreamError("JPEG 2000 codestream does not start with SOC")
  position, payload = start + 2, 0
  while position + 2 <= end:
    (marker,) = struct.unpack(">H", data[position:position + 2])
    if marker == 0xFFD9:  # EOC
      return payload
    if marker == 0xFF90:  # SOT: tile-part header, then SOD and tile data.
      (tile_part_length,) = struct.unpack(
          ">I", data[position + 6:position + 10])
      # Psot = 0 means the last tile-part, running to EOC.
      tile_end = (position + tile_part_length if tile_part_length
                  else end - 2)
      cursor = position + 12
      while data[cursor:cursor + 2] != b"\xff\x93":  # SOD
        if cursor >= tile_end:
          raise BitstreamError("JPEG 2000 tile-part without SOD")
        (length,) = struct.unpack(">H", data[cursor + 2:cursor + 4])
        cursor += 2 + length
      payload += tile_end - (cursor + 2)
      position = tile_end
      continue
    (length,) = struct.unpack(">H", data[position + 2:position + 4])
    position += 2 + length
  raise BitstreamError("JPEG 2000 codestream has no EOC marker")


def _jpeg2000(data):
  if data[:2] == b"\xff\x4f":
    return _j2k_codestream(data, 0, len(data))
  for kind, start, stop in _boxes(data):
    if kind == b"jp2c":
      return _j2k_codestream(data, start, stop)
  raise BitstreamError("JP2 file has no codestream (jp2c) box")


_PARSERS = {"JPEG": _jpeg, "WEBP": _webp, "AVIF": _avif,
            "JPEG2000": _jpeg2000}


def payload_bytes(format_name, data):
  """Bytes of coded image data in a file of Pillow format `format_name`."""
  try:
    return _PARSERS[format_name](data)
  except (struct.error, IndexError) as error:
    raise BitstreamError(f"truncated {format_name} file ({error})") from None
