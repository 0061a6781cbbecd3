"""Classical codecs as the harness runs them: Pillow, fixed recorded options.

Each codec has a default sweep of its quality parameter chosen to span about
0.1 to 2.5 bpp on Kodak (the range of the published learned-codec curves), and
names the published TFC curve it corresponds to, if any. JPEG 2000 has no
quality scale in Pillow: it is rate-controlled, and its sweep parameter is the
compression ratio (24 / ratio = target bpp for 8-bit RGB).
"""

import dataclasses
import io
import os
from typing import Optional

import PIL
from PIL import AvifImagePlugin, features

from tfcsuite import image_io
from tfcsuite.harness import bitstreams


@dataclasses.dataclass(frozen=True)
class Codec:
  """A classical codec evaluated through Pillow.

  Attributes:
    name: short name used in flags, file names and tables (e.g. "jpeg420").
    label: human-readable name for tables and plots.
    format_name: Pillow format.
    extension: file extension of the codec's files.
    parameter: what the swept value means ("quality" or "compression ratio").
    sweep: default values of the swept parameter.
    options: Pillow save options besides the swept one (recorded).
    published_curve: name of the matching curve in TFC's results, or None.
    library: `PIL.features` name of the codec library.
  """
  name: str
  label: str
  format_name: str
  extension: str
  parameter: str
  sweep: tuple
  options: dict
  published_curve: Optional[str]
  library: str

  def save_options(self, value):
    """All Pillow save options for one point of the sweep."""
    if self.parameter == "compression ratio":
      return dict(self.options, quality_layers=[value])
    return dict(self.options, quality=value)

  def encode(self, image, value):
    return image_io.encode_image(image, self.format_name,
                                 **self.save_options(value))

  def decode(self, data):
    return image_io.read_image(io.BytesIO(data))

  def payload_bytes(self, data):
    return bitstreams.payload_bytes(self.format_name, data)

  def library_version(self):
    """E.g. "libjpeg-turbo 3.2.0"; also the AV1 codec for AVIF."""
    if self.library == "jpg" and features.check("libjpeg_turbo"):
      return f"libjpeg-turbo {features.version('libjpeg_turbo')}"
    names = {"jpg": "libjpeg", "webp": "libwebp", "avif": "libavif",
             "jpg_2000": "OpenJPEG"}
    version = f"{names[self.library]} {features.version(self.library)}"
    if self.library == "avif":
      from PIL import _avif  # Says which AV1 encoder libavif uses.
      version += f" ({_avif.codec_versions()})"
    return version


# Baseline JPEG with optimized Huffman tables (as `cjpeg -optimize`): what a
# careful user of libjpeg gets, and how most JPEG anchors in papers are made.
_JPEG_OPTIONS = dict(optimize=True, progressive=False)

CODECS = {codec.name: codec for codec in (
    Codec(name="jpeg420", label="JPEG 4:2:0", format_name="JPEG",
          extension=".jpg", parameter="quality",
          sweep=(5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 85, 90, 93),
          options=dict(_JPEG_OPTIONS, subsampling="4:2:0"),
          published_curve="jpeg420", library="jpg"),
    Codec(name="jpeg444", label="JPEG 4:4:4", format_name="JPEG",
          extension=".jpg", parameter="quality",
          sweep=(5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 85, 90),
          options=dict(_JPEG_OPTIONS, subsampling="4:4:4"),
          published_curve=None, library="jpg"),
    # method=4 is libwebp's (and cwebp's) default speed/size trade-off.
    Codec(name="webp", label="WebP", format_name="WEBP", extension=".webp",
          parameter="quality",
          sweep=(0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95),
          options=dict(method=4), published_curve="webp", library="webp"),
    # libavif's defaults: speed 6, 4:2:0, full range. Threads: see
    # `configure_threads`.
    Codec(name="avif", label="AVIF", format_name="AVIF", extension=".avif",
          parameter="quality",
          sweep=(10, 20, 30, 40, 50, 60, 70, 80, 85, 90),
          options=dict(speed=6, subsampling="4:2:0"), published_curve=None,
          library="avif"),
    # Lossy JPEG 2000 as usually configured: 9/7 irreversible wavelet and the
    # RGB -> YCbCr component transform, one quality layer at the target rate.
    Codec(name="jpeg2000", label="JPEG 2000", format_name="JPEG2000",
          extension=".jp2", parameter="compression ratio",
          sweep=(240, 160, 120, 80, 60, 48, 36, 24, 16, 12, 9.6),
          options=dict(quality_mode="rates", irreversible=True, mct=1),
          published_curve="j2k-opj5", library="jpg_2000"),
)}

# `--codecs jpeg` means both chroma subsamplings.
ALIASES = {"jpeg": ("jpeg420", "jpeg444")}


def configure_threads(threads):
  """Fixes the thread counts of the codec libraries that have them.

  libjpeg-turbo is single-threaded; Pillow sets no thread option of libwebp,
  which then codes on one thread. libavif (encoder and decoder) takes Pillow's
  module default, OpenJPEG reads OPJ_NUM_THREADS when a codec is created.
  Returns what was set, for the results' metadata.
  """
  AvifImagePlugin.DEFAULT_MAX_THREADS = threads
  os.environ["OPJ_NUM_THREADS"] = str(threads)
  return {"libavif max_threads": threads, "OpenJPEG OPJ_NUM_THREADS": threads,
          "libjpeg-turbo": "1 (single-threaded)",
          "libwebp": "1 (library default; Pillow sets no thread option)"}


def versions():
  """Pillow and every codec library's version."""
  result = {"Pillow": PIL.__version__}
  for codec in CODECS.values():
    result[codec.name] = codec.library_version()
  return result
