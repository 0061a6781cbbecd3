"""Running a decoder that may misbehave on hostile data.

`with_deadline` bounds its time (`tfcsuite.entropy` runs TFC's range
decoding under it), `quiet_stderr` keeps what C libraries print
(libjpeg, TensorFlow's logging) off the terminal, so a refused file gets one
line of ours only.
"""

import contextlib
import os
import queue
import threading

from tfcsuite.container import ContainerError


def range_decoding_deadline(symbols):
  """Seconds that range decoding `symbols` symbols may take before it
  counts as hung: TFC decodes tens of millions a second; the budget assumes
  half a million, so a loaded machine is never mistaken for a hang."""
  return DEADLINE_SECONDS + DEADLINE_SECONDS_PER_SYMBOL * symbols


# TFCS_RANGE_DECODING_DEADLINE overrides the fixed part (e.g. larger on a
# very slow machine, smaller to replay known hangs quickly).
DEADLINE_SECONDS = float(os.environ.get("TFCS_RANGE_DECODING_DEADLINE", 10.))
DEADLINE_SECONDS_PER_SYMBOL = 2e-6


class _Worker:
  """A daemon thread running calls in turn: TensorFlow's per-thread eager
  set-up is paid once, not per call (a new thread per call cost ~40 ms)."""

  def __init__(self):
    self.requests = queue.SimpleQueue()
    threading.Thread(target=self._serve, daemon=True,
                     name="tfcs-guarded").start()

  def _serve(self):
    while True:
      function, done, outcome = self.requests.get()
      try:
        outcome["value"] = function()
      except BaseException as error:  # pylint: disable=broad-except
        outcome["error"] = error
      done.set()


_worker = None
_worker_lock = threading.Lock()


def with_deadline(function, seconds):
  """`function()`, or a `ContainerError` if it runs over `seconds`.

  TFC's range decoder can loop forever on a crafted or truncated string
  (its escape-code loop reads zeros past the end of the data and never
  ends); nothing in TensorFlow can stop an op, so the call runs in a daemon
  worker thread, which is abandoned if it overruns (the next call gets a new
  one; a process exits regardless of it).
  """
  global _worker
  with _worker_lock:
    if _worker is None:
      _worker = _Worker()
    worker = _worker
  done, outcome = threading.Event(), {}
  worker.requests.put((function, done, outcome))
  if not done.wait(seconds):
    with _worker_lock:
      if _worker is worker:
        _worker = None
    raise ContainerError(f"compressed payload is corrupted: decoding did not "
                         f"end within {seconds:.0f} s")
  if "error" in outcome:
    raise outcome["error"]
  return outcome["value"]


@contextlib.contextmanager
def quiet_stderr():
  """Sends file descriptor 2 to /dev/null for the duration (Python's own
  `sys.stderr` writes go there too, so nothing of ours is printed inside)."""
  saved = os.dup(2)
  try:
    with open(os.devnull, "wb") as null:
      os.dup2(null.fileno(), 2)
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
