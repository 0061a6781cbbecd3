"""Entropy-model helpers shared by the models.

TFC builds range-coding tables from the prior when an entropy model is created
with `compression=True`. We store those tables (and the prior's parameters,
for fine-tuning) in the checkpoint, so coding needs no table construction and
encoder and decoder use bit-identical tables. This holds for the factorized
priors (Ballé 2017, and the hyper-latents of Ballé 2018) and for the scale
table of conditional Gaussian models (`ScaleTable`, Ballé 2018).
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import guarded


def factorized_coding_tables(prior, prefix):
  """The range-coding tables of a factorized prior, to store in a checkpoint.

  (The prior's own variables are stored by `tfcsuite.weights`.)
  """
  entropy_model = tfc.ContinuousBatchedEntropyModel(
      prior, coding_rank=prior.batch_shape.rank + 2, compression=True)
  weights = {}
  weights[f"{prefix}/cdf"] = entropy_model.cdf.numpy()
  weights[f"{prefix}/cdf_offset"] = entropy_model.cdf_offset.numpy()
  offset = entropy_model.quantization_offset
  weights[f"{prefix}/quantization_offset"] = (
      tf.zeros(prior.batch_shape) if offset is None else offset).numpy()
  return weights


def restore_prior(prior, weights, prefix):
  """Assigns stored prior variables (a coding model's rate estimates)."""
  for i, variable in enumerate(prior.trainable_variables):
    variable.assign(weights[f"{prefix}/prior/{i}"])


class Guarded:
  """A TFC coding entropy model whose `decompress` always ends.

  TFC's range decoder decodes an escaped (out-of-table) value with an Elias
  gamma code whose leading-zeros loop never ends when it reads the zeros
  past the end of a truncated or crafted string at a particular decoder
  state (found by fuzzing, issue 19): the op spins forever. It cannot be
  stopped, so `decompress` runs under `guarded.with_deadline` with a budget
  of the symbol count (`guarded.range_decoding_deadline`); a hung string
  becomes a `ContainerError`. Costs one thread per call, not another decode.
  Everything else is the wrapped model's.
  """

  def __init__(self, model):
    self._model = model

  def __getattr__(self, name):
    return getattr(self._model, name)

  def decompress(self, strings, shape_or_indexes, *args, **kwargs):
    if isinstance(self._model, tfc.ContinuousBatchedEntropyModel):
      symbols = (np.prod(shape_or_indexes) *
                 np.prod(self._model.prior_shape, dtype=np.int64))
    else:  # Indexed models: one symbol per index.
      symbols = np.prod(np.shape(shape_or_indexes), dtype=np.int64)
    return guarded.with_deadline(
        lambda: self._model.decompress(strings, shape_or_indexes, *args,
                                       **kwargs),
        guarded.range_decoding_deadline(int(np.prod(np.shape(strings))) *
                                        int(symbols)))


def coding_entropy_model(weights, prefix, coding_rank):
  """A stateless entropy model that codes with the stored tables only."""
  offset = weights[f"{prefix}/quantization_offset"]
  return Guarded(tfc.ContinuousBatchedEntropyModel(
      prior_shape=offset.shape, coding_rank=coding_rank, compression=True,
      stateless=True, cdf=weights[f"{prefix}/cdf"],
      cdf_offset=weights[f"{prefix}/cdf_offset"], quantization_offset=offset))


class ScaleTable:
  """Zero-mean Gaussians of `num_scales` log-uniformly spaced scales.

  The conditional entropy model of TFC's hyperprior models: each latent is
  modelled as a zero-mean Gaussian convolved with unit-width uniform noise
  (`tfc.NoisyNormal`; Ballé et al. 2018, section 3), whose scale is
  `scale(i) = exp(log(scale_min) + i * step)` for a table index `i` in
  [0, num_scales - 1], `step` spacing the scales from scale_min to scale_max.
  Training and rate estimates use the continuous index a network predicts
  (clamped to the table by TFC); range coding needs an integer index, and
  uses the tables of all `num_scales` distributions, built once and stored.
  """

  def __init__(self, num_scales, scale_min, scale_max, coding_rank=3):
    self.num_scales = int(num_scales)
    self.coding_rank = coding_rank
    self._log_min = math.log(scale_min)
    self._log_step = (math.log(scale_max) - self._log_min) / (num_scales - 1)

  def scale(self, index):
    """Gaussian scale of a (possibly fractional) table index."""
    return tf.math.exp(self._log_min + self._log_step * index)

  def _model_arguments(self):
    return dict(prior_fn=tfc.NoisyNormal, num_scales=self.num_scales,
                scale_fn=self.scale, coding_rank=self.coding_rank)

  def entropy_model(self):
    """Model for training (noise) and rate estimates (rounding); no coding."""
    return tfc.LocationScaleIndexedEntropyModel(
        compression=False, **self._model_arguments())

  def coding_weights(self, prefix):
    """The range-coding tables of all scales, to store in a checkpoint."""
    model = tfc.LocationScaleIndexedEntropyModel(
        compression=True, stateless=True, **self._model_arguments())
    return {f"{prefix}/cdf": model.cdf.numpy(),
            f"{prefix}/cdf_offset": model.cdf_offset.numpy()}

  def coding_entropy_model(self, weights, prefix):
    """A model that range-codes with the stored tables only."""
    return Guarded(indexed_model_with_tables(
        weights[f"{prefix}/cdf"], weights[f"{prefix}/cdf_offset"],
        **self._model_arguments()))

  def nearest_indexes(self, index):
    """Nearest integer table index (ties to even), clipped to the table.

    Exact, so equal inputs give equal indexes on any machine; the input must
    itself be computed exactly (see `layers.IntegerTransform`).
    """
    index = tf.clip_by_value(tf.round(index), 0., self.num_scales - 1.)
    return tf.cast(index, tf.int32)


def indexed_model_with_tables(cdf, cdf_offset, **kwargs):
  """A `tfc.LocationScaleIndexedEntropyModel` that codes with given tables.

  TFC 2.14's indexed models cannot be given stored tables: `compression=True`
  always builds them from the prior. This creates the model without tables
  and then sets them up as that constructor does, through TFC's private
  `_init_compression(cdf, cdf_offset, cdf_shapes)`: the one place this
  project relies on a private TFC member (tests/test_entropy.py fails
  loudly if TFC changes it).
  """
  model = tfc.LocationScaleIndexedEntropyModel(
      compression=False, stateless=True, **kwargs)
  model._compression = True  # pylint: disable=protected-access
  model._init_compression(cdf, cdf_offset, None)  # pylint: disable=protected-access
  return model


CODING_PRECISION = 12  # Bits of the probabilities in the tables below.


def categorical_coding_table(logits):
  """Range-coder table of categorical distributions given as logits (rows,
  symbols): row r is [precision, 0, 2^p P(X < 1), ..., 2^p] (TFC's layout),
  every symbol with a probability of at least 2^-p."""
  logits = np.asarray(logits, np.float64)
  pmf = np.exp(logits - logits.max(axis=1, keepdims=True))
  pmf /= pmf.sum(axis=1, keepdims=True)
  cdf = tfc.pmf_to_quantized_cdf(tf.constant(pmf, tf.float32),
                                 precision=CODING_PRECISION).numpy()
  return np.concatenate([np.full((len(cdf), 1), CODING_PRECISION), cdf],
                        axis=1).astype(np.int32)


def decode_planes(handle, count, plane_indexes):
  """Decodes `count` planes of symbols, one range-decoder call per plane.

  For models whose symbols are coded plane after plane (e.g. channel by
  channel), each plane under table rows that depend only on the planes
  before it. `plane_indexes(k, planes)` returns the int32 table rows of the
  symbols of plane k (any shape), given `planes`, the int32 tensors decoded
  before it (each shaped as its rows). Returns the handle and the planes.
  """
  planes = []
  for k in range(count):
    indexes = tf.convert_to_tensor(plane_indexes(k, planes), tf.int32)
    handle, plane = tfc.entropy_decode_index(handle, indexes,
                                             tf.shape(indexes), tf.int32)
    planes.append(plane)
  return handle, planes
