"""Shared code of the TensorFlow Compression reproduction suite.

Small on purpose: image I/O, the bitstream container, metrics, checkpoints,
the training loop and the command-line skeleton that every script under
`models/` plugs into.
"""


class UserError(Exception):
  """A problem with the user's input, reported as one line without traceback."""


def count(number, noun):
  """"1 image", "24 images", "1,500 steps": a number and its noun."""
  return f"{number:,} {noun}{'' if number == 1 else 's'}"


def exit_status(main, prog, *args):
  """Runs a command-line tool's `main(*args)`; its exit status. A UserError
  becomes one line `prog: error: ...` and status 1, Ctrl-C status 130."""
  import sys
  try:
    return main(*args) or 0
  except UserError as error:
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print(f"{prog}: interrupted", file=sys.stderr)
    return 130
