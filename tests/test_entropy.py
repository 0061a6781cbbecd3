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


def test_categorical_table_rows_are_tfc_cdfs_of_the_distributions():
  logits = np.log([[.5, .25, .25], [.001, .001, .998]])
  table = entropy.categorical_coding_table(logits)
  assert table.shape == (2, 5)
  np.testing.assert_array_equal(table[:, :2], [[12, 0], [12, 0]])
  np.testing.assert_array_equal(table[0, 2:], [2048, 3072, 4096])
  # Every symbol stays codable: at least 1/4096.
  assert (np.diff(table[:, 1:], axis=1) >= 1).all()


def test_decode_planes_follows_rows_chosen_from_earlier_planes():
  table = entropy.categorical_coding_table(np.log([[.9, .1], [.1, .9]]))
  planes = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1]], np.int32)
  # Each bit is coded under the row given by the bit of the plane before.
  rows = np.concatenate([np.zeros((1, 3), np.int32), planes[:-1]])
  handle = tfc.create_range_encoder([], table)
  handle = tfc.entropy_encode_index(handle, rows.reshape(-1),
                                    planes.reshape(-1))
  string = tfc.entropy_encode_finalize(handle)
  calls = []

  def plane_rows(k, decoded):
    calls.append(k)
    return decoded[-1] if decoded else tf.zeros(3, tf.int32)

  handle = tfc.create_range_decoder(string, table)
  handle, decoded = entropy.decode_planes(handle, 3, plane_rows)
  assert bool(tfc.entropy_decode_finalize(handle))
  assert calls == [0, 1, 2]
  np.testing.assert_array_equal(np.stack(decoded), planes)
