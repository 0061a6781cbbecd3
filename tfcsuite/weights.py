"""A trainable model's variables as named arrays, and back (any model).

Checkpoints store the function a network computes, not one way of
parameterizing it: TFC's `SignalConv2D` kernels are stored as kernels (not
their RDFT coefficients) and `GDN`'s beta and gamma as values (not their
pedestal reparameterization); every other layer's variables as they are
(Keras convolutions, batch-normalization statistics, ...). Names are the
path of layer names, e.g. "analysis/layer_0/kernel" or "reccnn/bn_1/gamma"
(a layer wrapping one sub-layer of its own name counts once). Entropy-model
densities, which are not layers, are named "<prefix>/prior/<i>".

`export` and `restore` refuse what they cannot handle: a variable that is in
no layer and no named prior, or a layer holding parameter objects of an
unknown kind, is an error, never silently skipped.
"""

import tensorflow as tf
import tensorflow_compression as tfc

_LAYER = tf.keras.layers.Layer


def _children(layer):
  """Direct sub-layers of a layer (metrics excluded), in tracking order."""
  below = [m for m in layer.submodules if isinstance(m, _LAYER) and
           not isinstance(m, tf.keras.metrics.Metric)]
  nested = {id(m) for b in below for m in b.submodules}
  return [m for m in below if id(m) not in nested]


def _leaves(layer, path=()):
  """(name path, layer) of every layer below `layer` that owns variables."""
  for child in _children(layer):
    child_path = path if path and path[-1] == child.name else path + (
        child.name,)
    if isinstance(child, (tfc.SignalConv2D, tfc.GDN)):
      yield child_path, child
      continue
    yield from _leaves(child, child_path)
    inner = {v.ref() for c in _children(child) for v in c.variables}
    if any(v.ref() not in inner for v in child.variables):
      yield child_path, child


def _own_variables(layer):
  inner = {v.ref() for c in _children(layer) for v in c.variables}
  parameters = [m for m in layer.submodules
                if not isinstance(m, _LAYER) and m.variables]
  if parameters:
    raise ValueError(f"layer {layer.name!r} holds parameter objects "
                     f"({type(parameters[0]).__name__}) that weights.py "
                     f"cannot materialize")
  own = {}
  for variable in layer.variables:
    if variable.ref() in inner:
      continue
    short = variable.name.split("/")[-1].split(":")[0]
    if short in own:
      raise ValueError(f"layer {layer.name!r} has two variables named "
                       f"{short!r}")
    own[short] = variable
  return own


def _layer_values(layer):
  """{short name: materialized value} of a leaf layer."""
  if isinstance(layer, tfc.SignalConv2D):
    values = dict(kernel=layer.kernel)
    if layer.use_bias:
      values["bias"] = layer.bias
    return values
  if isinstance(layer, tfc.GDN):
    return dict(beta=layer.beta, gamma=layer.gamma)
  return _own_variables(layer)


def _check_covered(model, covered):
  # Metrics' running sums are training state, not weights.
  covered = covered | {v.ref() for m in model.submodules
                       if isinstance(m, tf.keras.metrics.Metric)
                       for v in m.variables}
  for variable in model.variables:
    if variable.ref() not in covered:
      raise ValueError(f"variable {variable.name!r} is in no layer and no "
                       f"named prior: it would not be exported")


def export(model, priors=None):
  """{name: array} of every variable of `model`, materialized.

  Args:
    model: a Keras model (or layer).
    priors: {prefix: tf.Module} of entropy-model densities whose variables
      are stored as "<prefix>/prior/<i>".
  """
  arrays, covered = {}, set()
  for path, layer in _leaves(model):
    for short, value in _layer_values(layer).items():
      arrays["/".join(path + (short,))] = tf.convert_to_tensor(value).numpy()
    covered.update(v.ref() for v in layer.variables)
  for prefix, prior in (priors or {}).items():
    for i, variable in enumerate(prior.trainable_variables):
      arrays[f"{prefix}/prior/{i}"] = variable.numpy()
      covered.add(variable.ref())
  _check_covered(model, covered)
  return arrays


def _array(weights, key):
  if key not in weights:
    raise KeyError(f"checkpoint has no weights for {key!r}")
  return weights[key]


def _assign_reparameterized(parameter, value):
  """Sets a TFC parameter object so that it computes `value`."""
  if isinstance(parameter, tf.Variable):  # SignalConv2D(kernel_parameter="variable").
    parameter.assign(value)
    return
  if isinstance(parameter, tfc.RDFTParameter):
    fresh = tfc.RDFTParameter(value, name="init")
  elif isinstance(parameter, tfc.GDNParameter):
    # Exact up to the parameter's lower bound.
    fresh = tfc.GDNParameter(value, name="init", minimum=parameter.minimum)
  else:
    raise ValueError(f"cannot restore a {type(parameter).__name__}")
  for variable, new in zip(parameter.variables, fresh.variables):
    variable.assign(new)


def restore(model, weights, priors=None):
  """Sets `model`'s variables so it computes the exported `weights`.

  The inverse of `export`; a `KeyError` names a missing weight.
  """
  covered = set()
  for path, layer in _leaves(model):
    key = "/".join(path)
    if isinstance(layer, tfc.SignalConv2D):
      _assign_reparameterized(layer.kernel_parameter,
                              _array(weights, f"{key}/kernel"))
      if layer.use_bias:
        layer.bias_parameter.assign(_array(weights, f"{key}/bias"))
    elif isinstance(layer, tfc.GDN):
      for name in ("beta", "gamma"):
        _assign_reparameterized(getattr(layer, f"{name}_parameter"),
                                _array(weights, f"{key}/{name}"))
    else:
      for short, variable in _own_variables(layer).items():
        variable.assign(_array(weights, f"{key}/{short}"))
    covered.update(v.ref() for v in layer.variables)
  for prefix, prior in (priors or {}).items():
    for i, variable in enumerate(prior.trainable_variables):
      variable.assign(_array(weights, f"{prefix}/prior/{i}"))
      covered.add(variable.ref())
  _check_covered(model, covered)
