"""Entropy-model helpers shared by models with a factorized prior.

TFC builds range-coding tables from the prior when an entropy model is created
with `compression=True`. We store those tables (and the prior's parameters,
for fine-tuning) in the checkpoint, so coding needs no table construction and
encoder and decoder use bit-identical tables.
"""

import tensorflow as tf
import tensorflow_compression as tfc


def factorized_prior_weights(prior, prefix):
  """The prior's variables plus the range-coding tables derived from it."""
  entropy_model = tfc.ContinuousBatchedEntropyModel(
      prior, coding_rank=prior.batch_shape.rank + 2, compression=True)
  weights = {f"{prefix}/prior/{i}": v.numpy()
             for i, v in enumerate(prior.trainable_variables)}
  weights[f"{prefix}/cdf"] = entropy_model.cdf.numpy()
  weights[f"{prefix}/cdf_offset"] = entropy_model.cdf_offset.numpy()
  offset = entropy_model.quantization_offset
  weights[f"{prefix}/quantization_offset"] = (
      tf.zeros(prior.batch_shape) if offset is None else offset).numpy()
  return weights


def restore_prior(prior, weights, prefix):
  """Assigns stored prior variables (for fine-tuning or rate estimates)."""
  for i, variable in enumerate(prior.trainable_variables):
    variable.assign(weights[f"{prefix}/prior/{i}"])


def coding_entropy_model(weights, prefix, coding_rank):
  """A stateless entropy model that codes with the stored tables only."""
  offset = weights[f"{prefix}/quantization_offset"]
  return tfc.ContinuousBatchedEntropyModel(
      prior_shape=offset.shape, coding_rank=coding_rank, compression=True,
      stateless=True, cdf=weights[f"{prefix}/cdf"],
      cdf_offset=weights[f"{prefix}/cdf_offset"], quantization_offset=offset)
