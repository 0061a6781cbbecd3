"""tfcsuite/entropy.py: stored range-coding tables code as TFC's own do."""

import inspect

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import entropy


def test_tfc_private_init_compression_has_the_signature_we_call():
  # entropy.indexed_model_with_tables calls this private TFC method; if a
  # TFC release renames it or changes its arguments, this fails first.
  method = tfc.LocationScaleIndexedEntropyModel._init_compression  # pylint: disable=protected-access
  assert list(inspect.signature(method).parameters) == [
      "self", "cdf", "cdf_offset", "cdf_shapes"]


def test_stored_scale_tables_code_like_tfcs_own_tables():
  table = entropy.ScaleTable(num_scales=16, scale_min=0.11, scale_max=64.)
  stored = table.coding_weights("latent")
  ours = table.coding_entropy_model(stored, "latent")
  theirs = tfc.LocationScaleIndexedEntropyModel(
      compression=True, **table._model_arguments())  # pylint: disable=protected-access
  rng = np.random.default_rng(0)
  latents = tf.constant(rng.laplace(0., 4., (1, 6, 8, 5)), tf.float32)
  indexes = tf.constant(rng.integers(0, 16, (1, 6, 8, 5)), tf.int32)
  string = ours.compress(latents, indexes)
  assert string.numpy() == theirs.compress(latents, indexes).numpy()
  np.testing.assert_array_equal(ours.decompress(string, indexes),
                                tf.round(latents))
