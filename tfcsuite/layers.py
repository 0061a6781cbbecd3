"""Layer builders shared by the model scripts.

Every transform is built in one of two ways from the same code:

* for training (`weights=None`): TFC's reparameterized layers, i.e.
  `tfc.SignalConv2D` with RDFT kernel parameters and `tfc.GDN` with its
  pedestal reparameterization of beta and gamma;
* for coding (`weights` a dict of arrays): the same layers with the
  *materialized* kernels, biases, beta and gamma given as constants, so that no
  reparameterization is evaluated at inference and checkpoints store the
  function the network computes rather than one way of parameterizing it.
"""

import tensorflow as tf
import tensorflow_compression as tfc


def _constant(weights, key):
  return tf.constant(weights[key], dtype=tf.float32)


def signal_conv(prefix, name, filters, kernel_size, weights=None, *,
                corr, strides_down=1, strides_up=1, use_bias=True):
  """A `tfc.SignalConv2D` with "same_zeros" padding, as in TFC's models."""
  kwargs = dict(
      filters=filters, kernel_support=kernel_size, name=name, corr=corr,
      strides_down=strides_down, strides_up=strides_up,
      padding="same_zeros", use_bias=use_bias, activation=None)
  if weights is not None:
    kwargs["kernel_parameter"] = _constant(weights, f"{prefix}/{name}/kernel")
    if use_bias:
      kwargs["bias_parameter"] = _constant(weights, f"{prefix}/{name}/bias")
  return tfc.SignalConv2D(**kwargs)


def gdn(prefix, name, weights=None, *, inverse=False):
  """A `tfc.GDN` layer (generalized divisive normalization, Ballé 2016)."""
  kwargs = dict(name=name, inverse=inverse)
  if weights is not None:
    kwargs["beta_parameter"] = _constant(weights, f"{prefix}/{name}/beta")
    kwargs["gamma_parameter"] = _constant(weights, f"{prefix}/{name}/gamma")
  return tfc.GDN(**kwargs)


def materialized_weights(transform):
  """Returns {"<transform>/<layer>/<kernel|bias|beta|gamma>": array}."""
  weights = {}
  for layer in transform.layers:
    key = f"{transform.name}/{layer.name}"
    if isinstance(layer, tfc.SignalConv2D):
      weights[f"{key}/kernel"] = layer.kernel.numpy()
      if layer.use_bias:
        weights[f"{key}/bias"] = layer.bias.numpy()
    elif isinstance(layer, tfc.GDN):
      weights[f"{key}/beta"] = layer.beta.numpy()
      weights[f"{key}/gamma"] = layer.gamma.numpy()
  return weights


def initialize_from(transform, weights):
  """Sets a trainable transform so it computes the given materialized weights.

  Used by `train --init_from` to fine-tune from a shipped checkpoint: each
  reparameterized variable is set to the inverse reparameterization of the
  stored value (exact for RDFT kernels, and for GDN up to its lower bounds).
  """
  for layer in transform.layers:
    key = f"{transform.name}/{layer.name}"
    if isinstance(layer, tfc.SignalConv2D):
      param = layer.kernel_parameter
      kernel = weights[f"{key}/kernel"]
      fresh = type(param)(kernel, name="init")
      for variable, value in zip(param.variables, fresh.variables):
        variable.assign(value)
      if layer.use_bias:
        layer.bias_parameter.assign(weights[f"{key}/bias"])
    elif isinstance(layer, tfc.GDN):
      for attribute in ("beta", "gamma"):
        param = getattr(layer, f"{attribute}_parameter")
        fresh = type(param)(weights[f"{key}/{attribute}"], name="init",
                            minimum=param.minimum)
        for variable, value in zip(param.variables, fresh.variables):
          variable.assign(value)
