#!/usr/bin/env python3
"""Visual report of the committed Kodak results: benchmarks/results/report.html.

Runs the command line of the harness package, `tfcsuite.harness.report_cli`,
whose docstring is the --help text. See benchmarks/README.md.
"""

import sys

from tfcsuite.harness import report_cli

if __name__ == "__main__":
  sys.exit(report_cli.main())
