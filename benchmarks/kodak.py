#!/usr/bin/env python3
"""Kodak rate-distortion benchmark of learned models and classical codecs.

Runs the command line of the harness package, `tfcsuite.harness.kodak_cli`,
whose docstring is the --help text. See benchmarks/README.md.
"""

import sys

from tfcsuite.harness import kodak_cli

if __name__ == "__main__":
  sys.exit(kodak_cli.main())
