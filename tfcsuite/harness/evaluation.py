"""Measuring rate-distortion points: one (image, codec, setting) at a time.

A *point* is one setting of one curve: a quality (or compression ratio) of a
classical codec, or one checkpoint of a learned model. For every image the
point encodes the image to a real file, decodes that file, and measures file
size, payload size, quality and coding time. Each finished measurement is
cached as a small JSON file, keyed by everything it depends on, so that an
interrupted run resumes where it stopped and a finished one is not repeated.
"""

import importlib.metadata
import json
import os
import time

import PIL

from tfcsuite import image_io, metrics
from tfcsuite.datasets import kodak

# Bump when what a cached measurement holds or means changes.
CACHE_VERSION = 1


class CodecPoint:
  """One value of a classical codec's sweep."""

  def __init__(self, codec, value, threads):
    self.codec = codec
    self.curve = codec.name
    short = "q" if codec.parameter == "quality" else "ratio"
    self.label = f"{short}{value:g}"
    self.setting = {codec.parameter: value}
    self.extension = codec.extension
    self.cache_folder = self.label
    self.key = dict(codec=codec.name, format=codec.format_name,
                    options=codec.save_options(value),
                    library=codec.library_version(), pillow=PIL.__version__,
                    threads=threads)
    self.value = value

  def prepare(self, image):
    """Warm-up: the first call of a codec pays for table and buffer setup."""
    self.decode(self.encode(image))

  def release(self):
    pass

  def encode(self, image):
    return self.codec.encode(image, self.value)

  def decode(self, data):
    return self.codec.decode(data)

  def payload_bytes(self, data):
    return self.codec.payload_bytes(data)

  def estimate_bits(self, image):
    return None


class CheckpointPoint:
  """One checkpoint of a learned model, with the model's compress options
  (e.g. Jiang 2017's JPEG quality), coded through the shared container.

  Its curve is the model's, or another one named by the user (e.g. a
  retrained model next to the shipped one).
  """

  extension = ".tfci"

  def __init__(self, script, checkpoint, label, threads, options=None,
               curve=None):
    self.script = script
    self.checkpoint = checkpoint
    self.options = dict(options or {})
    self.curve = curve or script.name
    self.label = label
    # Model and fingerprint say which weights a published result belongs to
    # (tfcsuite.harness.shipped_results).
    self.setting = dict(checkpoint=label, config=checkpoint.config,
                        model=script.name,
                        weights_crc32=f"{checkpoint.fingerprint:08x}",
                        **self.options)
    # The fingerprint in the folder name keeps results of retrained weights
    # apart from those of older weights with the same checkpoint name.
    self.cache_folder = f"{label}-{checkpoint.fingerprint:08x}"
    self.key = dict(
        model=script.name, weights_crc32=checkpoint.fingerprint,
        config=checkpoint.config,
        tensorflow=importlib.metadata.version("tensorflow"),
        tensorflow_compression=importlib.metadata.version(
            "tensorflow-compression"),
        threads=threads)
    if self.options:  # Absent otherwise: older cached results stay valid.
      self.key["options"] = self.options
    self.model = None

  def prepare(self, image):
    """Builds the model and traces its tf.functions, outside any timing."""
    self.model = self.script.coding_model(self.checkpoint)
    self.decode(self.encode(image))

  def release(self):
    self.model = None

  def encode(self, image):
    from tfcsuite import coding, container
    return container.pack(
        coding.encode(self.model, self.checkpoint, image,
                              **self.options))

  def decode(self, data):
    from tfcsuite import coding, container
    return coding.decode(
        self.model, container.unpack(data, self.script.name))

  def payload_bytes(self, data):
    from tfcsuite import container
    return container.unpack(data).payload_bytes()

  def estimate_bits(self, image):
    return self.model.estimate_bits(image)


class ResultCache:
  """Finished measurements, one JSON file per (curve, point, image).

  A measurement's key holds its image's SHA-256: by default from the Kodak
  table, or from `image_sha256` (name -> hex digest) for other images.
  """

  def __init__(self, directory, image_sha256=None):
    self.directory = directory
    self.image_sha256 = kodak.SHA256 if image_sha256 is None else image_sha256

  def folder(self, point):
    return os.path.join(self.directory, point.curve, point.cache_folder)

  def _path(self, point, image_name, extension=".json"):
    stem = os.path.splitext(image_name)[0]
    return os.path.join(self.folder(point), stem + extension)

  def bitstream_path(self, point, image_name):
    """Where the compressed file is written (and kept, if asked)."""
    return self._path(point, image_name, point.extension)

  def key(self, point, image_name):
    return dict(point.key, image=image_name,
                image_sha256=self.image_sha256[image_name],
                version=CACHE_VERSION)

  def load(self, point, image_name):
    """The cached measurement; None if absent or made under other settings."""
    try:
      with open(self._path(point, image_name)) as f:
        entry = json.load(f)
    except (OSError, ValueError):
      return None
    if entry.get("key") != self.key(point, image_name):
      return None
    return entry["result"]

  def store(self, point, image_name, result):
    os.makedirs(self.folder(point), exist_ok=True)
    entry = dict(key=self.key(point, image_name), result=result)
    image_io.write_bytes(self._path(point, image_name),
                         (json.dumps(entry, indent=1) + "\n").encode(),
                         overwrite=True)


def _finite_or_none(value):
  # JSON has no NaN or infinity (PSNR of a lossless point is infinite).
  return value if value is not None and abs(value) < float("inf") else None


def measure(point, image_name, image, bitstream_path, keep_bitstream):
  """Encodes `image` to a file, decodes the file, returns the measurement."""
  start = time.perf_counter()
  data = point.encode(image)
  encode_seconds = time.perf_counter() - start
  image_io.write_bytes(bitstream_path, data, overwrite=True)
  try:
    stored = image_io.read_bytes(bitstream_path)
    file_bytes = os.path.getsize(bitstream_path)
  finally:
    if not keep_bitstream:
      os.unlink(bitstream_path)
  start = time.perf_counter()
  reconstruction = point.decode(stored)
  decode_seconds = time.perf_counter() - start
  if reconstruction.shape != image.shape:
    raise RuntimeError(f"{point.curve} {point.label} decoded {image_name} to "
                       f"shape {reconstruction.shape}, not {image.shape}")

  height, width = image.shape[:2]
  payload = point.payload_bytes(stored)
  estimated_bits = point.estimate_bits(image)
  values = metrics.all_metrics(image, reconstruction)
  return dict(
      curve=point.curve, point=point.label, image=image_name,
      height=height, width=width, file_bytes=file_bytes,
      payload_bytes=payload,
      bpp=metrics.bits_per_pixel(file_bytes, height, width),
      payload_bpp=metrics.bits_per_pixel(payload, height, width),
      model_estimate_bpp=(None if estimated_bits is None
                          else estimated_bits / (height * width)),
      psnr_rgb=_finite_or_none(values["psnr"]),
      y_psnr=_finite_or_none(values["y_psnr"]),
      ms_ssim_rgb=_finite_or_none(values["ms_ssim"]),
      ms_ssim_db_rgb=_finite_or_none(values["ms_ssim_db"]),
      mse=values["mse"],
      # Microseconds are below the timer's run-to-run noise.
      encode_ms=round(1000. * encode_seconds, 3),
      decode_ms=round(1000. * decode_seconds, 3))


def evaluate(points, image_paths, cache, keep_bitstreams=False,
             before_first_measurement=None, show_progress=True):
  """Measures every point on every image, reusing cached measurements.

  Args:
    points: `CodecPoint`s and `CheckpointPoint`s.
    image_paths: image files (verified Kodak files, or those whose SHA-256
      the cache knows), with distinct file names.
    cache: a `ResultCache`.
    keep_bitstreams: keep each compressed file next to its cached result.
    before_first_measurement: called once before anything is measured (and
      not at all when everything is cached), e.g. to fix thread counts before
      TensorFlow starts.
    show_progress: draw a progress bar on stderr.

  Returns:
    (measurements in point order, then image order; number taken from cache).
  """
  from tqdm import tqdm

  names = [os.path.basename(path) for path in image_paths]
  cached = {(id(point), name): cache.load(point, name)
            for point in points for name in names}
  from_cache = sum(result is not None for result in cached.values())
  if from_cache < len(cached) and before_first_measurement:
    before_first_measurement()

  images = {}  # Decoded originals, read once.
  results = []
  with tqdm(total=len(cached), initial=from_cache, unit="image",
            disable=not show_progress, dynamic_ncols=True) as progress:
    for point in points:
      pending = [name for name in names if cached[id(point), name] is None]
      if pending:
        progress.set_description(f"{point.curve} {point.label}")
        for name in pending:
          if name not in images:
            images[name] = image_io.read_image(
                image_paths[names.index(name)])
        os.makedirs(cache.folder(point), exist_ok=True)
        point.prepare(images[pending[0]])
        for name in pending:
          result = measure(point, name, images[name],
                           cache.bitstream_path(point, name), keep_bitstreams)
          cache.store(point, name, result)
          cached[id(point), name] = result
          progress.update(1)
        point.release()
      results.extend(cached[id(point), name] for name in names)
  return results, from_cache
