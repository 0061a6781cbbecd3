"""Any images for the harness, each identified by its SHA-256.

benchmarks/kodak.py measures the 24 Kodak files, checked against their
published SHA-256 (`tfcsuite.datasets.kodak`); `tfcs evaluate` measures any
image files the user names. The cache keys every measurement by its image's
SHA-256, so that a changed file is measured again, and stores it under the
file's name without extension, so those must be distinct.
"""

import os

from tfcsuite import UserError, image_io
from tfcsuite.datasets import kodak


def any_images(names):
  """(paths, {file name: SHA-256}) of image files and folders of images.

  Every image is read once here, so that an unreadable one is reported
  before anything is measured.
  """
  paths = []
  for name in names:
    if os.path.isdir(name):
      paths += image_io.images_in_folder(name)
    else:
      paths.append(name)
  stems = {}
  for path in paths:
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in stems:
      raise UserError(f"{stems[stem]!r} and {path!r} have the same name "
                      f"without extension, under which results are stored; "
                      f"rename one")
    stems[stem] = path
    image_io.read_image(path)
  return paths, {os.path.basename(path): kodak.sha256_of(path)
                 for path in paths}


def is_kodak(image_sha256):
  """Whether images of these SHA-256 digests are exactly the 24 Kodak ones."""
  return sorted(image_sha256.values()) == sorted(kodak.SHA256.values())
