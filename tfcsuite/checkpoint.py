"""Shipped checkpoints: materialized weights plus coding tables, and a manifest.

A checkpoint is a folder holding `weights.npz` (every array needed to encode,
decode and fine-tune) and `manifest.json` (model name, configuration and
provenance). Its fingerprint, the CRC32 of `weights.npz`, is written into every
compressed file so that decoding with other weights is refused.
"""

import json
import os
import shutil
import tempfile
import zlib

import numpy as np

from tfcsuite import UserError

WEIGHTS = "weights.npz"
MANIFEST = "manifest.json"
# An int8-stored kernel KEY has its float32 scales, one per output channel
# (the last axis), under KEY + INT8_SCALE (tfcsuite.release).
INT8_SCALE = ":int8_scale"


class Checkpoint:
  """A loaded checkpoint: `name`, `model`, `config`, `weights`, `fingerprint`."""

  def __init__(self, path, manifest, weights, fingerprint):
    self.path = path
    self.name = os.path.basename(os.path.normpath(path))
    self.manifest = manifest
    self.model = manifest["model"]
    self.config = manifest["config"]
    self.weights = weights
    self.fingerprint = fingerprint


def fingerprint_of(path):
  """The fingerprint of a checkpoint folder: the CRC32 of its weights file."""
  with open(os.path.join(path, WEIGHTS), "rb") as f:
    return zlib.crc32(f.read())


def load(path, expected_model=None):
  """Loads a checkpoint folder; a clear `UserError` if it is not one."""
  weights_file = os.path.join(path, WEIGHTS)
  manifest_file = os.path.join(path, MANIFEST)
  if not (os.path.isfile(weights_file) and os.path.isfile(manifest_file)):
    raise UserError(f"{path!r} is not a checkpoint folder "
                    f"(needs {WEIGHTS} and {MANIFEST})")
  with open(manifest_file) as f:
    manifest = json.load(f)
  if expected_model and manifest.get("model") != expected_model:
    raise UserError(f"checkpoint {path!r} is for model "
                    f"{manifest.get('model')!r}, not {expected_model!r}")
  fingerprint = fingerprint_of(path)
  with np.load(weights_file) as arrays:
    weights = _float_weights({key: arrays[key] for key in arrays.files})
  return Checkpoint(path, manifest, weights, fingerprint)


def _float_weights(stored):
  """The weights a model computes with, from the stored arrays: releases may
  store kernels as float16 or int8 (tfcsuite.release); models compute in
  float32 with the rounded values."""
  weights = {}
  for key, array in stored.items():
    if key.endswith(INT8_SCALE):
      continue
    if key + INT8_SCALE in stored:
      array = array.astype(np.float32) * stored[key + INT8_SCALE]
    elif array.dtype == np.float16:
      array = array.astype(np.float32)
    weights[key] = array
  return weights


def save(path, model, config, weights, provenance):
  """Writes a checkpoint folder atomically (replacing an older one)."""
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".checkpoint-", dir=parent)
  try:
    np.savez(os.path.join(staging, WEIGHTS), **weights)
    manifest = dict(model=model, config=config, provenance=provenance)
    with open(os.path.join(staging, MANIFEST), "w") as f:
      json.dump(manifest, f, indent=2, sort_keys=True)
      f.write("\n")
    if os.path.exists(path):
      shutil.rmtree(path)
    os.replace(staging, path)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
