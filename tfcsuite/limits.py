"""Resource limits of compress and decompress, and their flags.

Kept free of TensorFlow so that `--help` stays quick.
"""

# Images of more pixels are refused, by compress (a decompression bomb: a
# small file that decodes to a huge image) and by decompress (a crafted file
# declaring a huge image). Pillow's own default limit.
MAX_PIXELS = 89_478_485

# Side (pixels) of the tiles in which large images go through the
# transforms (`tfcsuite.tiling`); bounds peak memory. Measured on a
# 24-megapixel image with Ballé 2017 (benchmarks/results/peak_memory.md):
# 1024-pixel tiles kept about 300 MB more of TensorFlow's working memory.
DEFAULT_TILE_SIZE = 512


def add_arguments(parser, command):
  """--max_pixels and --tile_size of `command`."""
  from tfcsuite.cli import number_in_range
  what = "images" if command == "compress" else "files declaring images"
  parser.add_argument(
      "--max_pixels", type=number_in_range(int, low=1), default=MAX_PIXELS,
      help=f"Refuse {what} of more pixels than this, before allocating "
           f"anything for them.")
  parser.add_argument(
      "--tile_size", type=number_in_range(int, low=0),
      default=DEFAULT_TILE_SIZE,
      help="Images of more than 4 such tiles of pixels go through the "
           "model's transforms in overlapping tiles of this side, which "
           "bounds memory (same result up to float rounding); 0: never "
           "tile.")
