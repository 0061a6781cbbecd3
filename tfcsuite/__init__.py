"""Shared code of the TensorFlow Compression reproduction suite.

Small on purpose: image I/O, the bitstream container, metrics, checkpoints,
the training loop and the command-line skeleton that every script under
`models/` plugs into.
"""


class UserError(Exception):
  """A problem with the user's input, reported as one line without traceback."""
