"""The Kodak rate-distortion benchmark harness behind `benchmarks/kodak.py`.

Classical codecs and learned-model checkpoints are measured point by point
(`evaluation`), averaged into curves and compared by Bjøntegaard deltas, then
written as CompressAI-schema JSON, CSV, Markdown and plots.
"""
