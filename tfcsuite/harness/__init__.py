"""The Kodak rate-distortion benchmark harness behind `benchmarks/kodak.py`.

One concern per module, in the order a run uses them:

  kodak_cli        the command line: flags, the run, one-line errors
  run_flags        flags and the one-line error parser it shares with
                   `tfcs evaluate`
  evaluate_images  `tfcs evaluate`: the measurements on any images
  image_set        any images, each identified by its SHA-256
  curve_selection  the codecs and model checkpoints the flags select
  classical        the classical codecs, through Pillow
  bitstreams       the coded-data bytes of a classical codec's file
  evaluation       measuring points on images, with a resumable cache
  environment      CPU, threads, versions and git state of the run
  curves           per-point means and Bjøntegaard comparisons
  bjontegaard      BD-rate and BD-quality
  published        TFC's published curves
  results_files    CompressAI-schema JSON and the per-image CSV
  markdown         the Markdown report
  plots            the rate-distortion plots
  readme_block     the generated results block of the README
  shipped_results  a shipped checkpoint's committed Kodak means (`tfcs
                   models`)

The visual report (`benchmarks/report.py`) reads committed results:

  report_cli       the command line: inputs, the page, the README block
  recorded_points  the evaluation point behind a recorded result
  crops            crops at nearly equal bit rates, through the cache
  model_illustrations  what each registered model shows of an image
  training_progress    the checkpoint campaign's progress plot
  report_page      the static HTML page
"""
