"""Running a command as a child process and measuring it."""

import dataclasses
import os
import subprocess
import time


@dataclasses.dataclass
class Measured:
  wall_seconds: float
  peak_rss_mib: float  # The child's maximum resident set size.
  returncode: int
  stderr: str


def run_measured(argv, env=None):
  """Runs `argv` to completion; its wall time, peak RSS and exit status.

  The peak RSS is the kernel's account of the child alone (`wait4`), not of
  this process.
  """
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
  start = time.perf_counter()
  process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
  stderr = process.stderr.read().decode(errors="replace")
  _, status, usage = os.wait4(process.pid, 0)
  wall = time.perf_counter() - start
  return Measured(wall, usage.ru_maxrss / 1024.,
                  os.waitstatus_to_exitcode(status), stderr)
