"""Glue between a model's `compress`/`decompress` tf.functions and the container.

Contract for every coding model (see models/balle17.py):
  * `compress(x)` takes a uint8 (H, W, 3) tensor and returns a tuple of
    tensors: tf.string tensors (the entropy-coded payload) and int32 tensors
    (side information such as latent shapes);
  * `decompress(x_shape, *tensors)` inverts it, `x_shape` being (H, W);
    its `input_signature` tells the dtypes and shapes of those tensors.

Both are run eagerly, through the Python function behind the tf.function:
for one image, tracing costs far more than computing (Ballé 2017 on a Kodak
image: first eager encode 0.10 s in benchmarks/results/speed.json, against
about 1.7 s for the first traced call in a one-off measurement), and encoder
and decoder then execute the very same kernels, whatever process or program
(CLI, harness) runs them.
"""

import numpy as np
import tensorflow as tf

from tfcsuite import container as container_lib
from tfcsuite.container import ContainerError


def reconstructed_image(x_hat, x_shape):
  """A synthesis output (1, H', W', 3), 0..255, as the uint8 (H, W, 3) image.

  Transforms work on sizes rounded up to their total stride; `x_shape` is
  the image's (H, W).
  """
  x_hat = x_hat[0, :x_shape[0], :x_shape[1], :]
  return tf.saturate_cast(tf.round(x_hat), tf.uint8)


def _eager(model, name):
  """`model.<name>` without tracing: its tf.function's Python function.

  A model whose `compress` calls a codec outside TensorFlow's graph (Jiang
  2017's JPEG) defines it as a plain method, which is returned as is.
  """
  method = getattr(model, name)
  return getattr(method, "python_function", method)  # Bound to `model`.


def reference_image(model, image):
  """What a reconstruction by `model` is compared with: `image` itself, or,
  for a model that codes another version of it (e.g. its grayscale
  version), that version as given by the model's `reference_image`."""
  if hasattr(model, "reference_image"):
    return np.asarray(model.reference_image(image))
  return image


def compress_image(model, checkpoint, image, **options):
  """Encodes a uint8 RGB array into a `Container`.

  `options` are the model's compress options (e.g. `quality` for Jiang 2017).
  """
  tensors = _eager(model, "compress")(tf.constant(image, dtype=tf.uint8),
                                      **options)
  strings, integers = [], []
  for tensor in tensors:
    values = tensor.numpy().reshape(-1)
    if tensor.dtype == tf.string:
      strings.extend(bytes(v) for v in values)
    else:
      integers.extend(int(v) for v in values)
  height, width = image.shape[:2]
  return container_lib.Container(
      model=checkpoint.model, checkpoint=checkpoint.name,
      weights_crc32=checkpoint.fingerprint, height=height, width=width,
      integers=integers, strings=strings)


def decompress_container(model, container):
  """Decodes a `Container` into a uint8 RGB array."""
  specs = model.decompress.input_signature[1:]
  strings, integers = list(container.strings), list(container.integers)
  tensors = []
  for spec in specs:
    count = int(np.prod(spec.shape.as_list()))
    source = strings if spec.dtype == tf.string else integers
    if len(source) < count:
      raise ContainerError("compressed file does not hold the data this "
                           "model needs")
    values, source[:] = source[:count], source[count:]
    tensors.append(tf.constant(values, dtype=spec.dtype, shape=spec.shape))
  if strings or integers:
    raise ContainerError("compressed file holds more data than this model "
                         "reads")
  x_shape = tf.constant([container.height, container.width], tf.int32)
  try:
    image = _eager(model, "decompress")(x_shape, *tensors)
  except tf.errors.InvalidArgumentError as error:
    raise ContainerError("compressed payload is corrupted: " +
                         error.message.splitlines()[0]) from None
  return image.numpy()
