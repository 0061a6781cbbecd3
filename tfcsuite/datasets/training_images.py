"""Training and validation patches from image files or a TFDS dataset.

Images are decoded once and kept in memory (BSDS500 decodes to about 230 MB),
so after the first pass each step only crops. Images smaller than the patch
size in either dimension are skipped, as in TFC's `bls2017.py`.
"""

import glob
import os
import random

import tensorflow as tf

from tfcsuite import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def expand_globs(patterns):
  """Sorted image files matched by the glob patterns (`**` is recursive)."""
  files = set()
  for pattern in patterns:
    pattern = os.path.expanduser(pattern)
    if os.path.isdir(pattern):
      pattern = os.path.join(pattern, "**", "*")
    files.update(f for f in glob.glob(pattern, recursive=True)
                 if f.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(f))
  if not files:
    raise UserError(f"no training images (PNG/JPEG/BMP/GIF) match "
                    f"{' '.join(patterns)!r}")
  return sorted(files)


def check_patches_fit(files, patchsize, what="training"):
  """A `UserError` if no image of `files` has both sides >= `patchsize`.

  Reads image headers only (Pillow), so it is cheap; smaller images are
  skipped during training, as in TFC.
  """
  from PIL import Image  # Pillow reads the size without decoding.
  largest = 0  # Shorter side of the largest image.
  for filename in files:
    try:
      with Image.open(filename) as image:
        width, height = image.size
    except (OSError, ValueError):
      continue  # Unreadable here; TensorFlow's decoder reports it.
    if min(width, height) >= patchsize:
      return
    largest = max(largest, min(width, height))
  raise UserError(f"--patchsize {patchsize}: no {what} image is that large "
                  f"(the largest has a shorter side of {largest} pixels)")


def _decode(filename):
  image = tf.io.decode_image(
      tf.io.read_file(filename), channels=3, expand_animations=False)
  image.set_shape((None, None, 3))
  return image


def _large_enough(image, patchsize):
  shape = tf.shape(image)
  return shape[0] >= patchsize and shape[1] >= patchsize


def decoded_images(files, patchsize, threads):
  """Dataset of decoded uint8 images of at least `patchsize`, cached in RAM."""
  dataset = tf.data.Dataset.from_tensor_slices(files)
  dataset = dataset.map(_decode, num_parallel_calls=threads)
  dataset = dataset.filter(lambda image: _large_enough(image, patchsize))
  return dataset.cache()


def training_patches(files, batchsize, patchsize, threads, seed=None):
  """Endless, shuffled batches of random `patchsize`² crops (float32, 0..255).

  The order is a function of `seed` and each crop a function of `seed` and
  the patch's index (stateless random ops), so the same seed gives the same
  batches whatever the threads' timing, on every worker of a distributed run.
  Without a seed, a random one.
  """
  if seed is None:
    seed = random.SystemRandom().randrange(2 ** 31)
  with tf.device("/cpu:0"):
    dataset = decoded_images(files, patchsize, threads)
    dataset = dataset.shuffle(len(files), seed=seed,
                              reshuffle_each_iteration=True).repeat()
    dataset = dataset.enumerate().map(
        lambda index, image: tf.cast(tf.image.stateless_random_crop(
            image, (patchsize, patchsize, 3),
            seed=tf.stack([tf.constant(seed, tf.int64), index])), tf.float32),
        num_parallel_calls=threads)
    dataset = dataset.batch(batchsize, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def validation_patches(files, batchsize, patchsize, threads, max_batches):
  """The centre `patchsize`² crop of each image, in file order, cached.

  Deterministic, unlike TFC's random validation crops, so that validation
  losses of different runs and epochs are comparable.
  """
  with tf.device("/cpu:0"):
    dataset = decoded_images(files, patchsize, threads)
    dataset = dataset.map(
        lambda image: tf.cast(tf.image.resize_with_crop_or_pad(
            image, patchsize, patchsize), tf.float32),
        num_parallel_calls=threads)
    dataset = dataset.batch(batchsize, drop_remainder=False)
    if max_batches >= 0:
      dataset = dataset.take(max_batches)
    return dataset.cache()


def tfds_patches(name, split, batchsize, patchsize, data_dir=None):
  """Random crops from a TFDS image dataset such as `clic` (TFC's default)."""
  import tensorflow_datasets as tfds  # Imported lazily: it is slow to import.
  with tf.device("/cpu:0"):
    try:
      dataset = tfds.load(name, split=split, shuffle_files=True,
                          data_dir=data_dir)
    except Exception as error:  # TFDS raises many types; report them all.
      raise UserError(f"TFDS dataset {name!r} split {split!r} is not "
                      f"available: {str(error).splitlines()[0]}") from None
    if split == "train":
      dataset = dataset.repeat()
    dataset = dataset.map(lambda example: example["image"])
    dataset = dataset.filter(lambda image: _large_enough(image, patchsize))
    dataset = dataset.map(lambda image: tf.cast(
        tf.image.random_crop(image, (patchsize, patchsize, 3)), tf.float32))
    dataset = dataset.batch(batchsize, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
