"""Visual report of committed Kodak results: one static HTML page.

Writes OUT/report.html and its PNGs in OUT/report/: the rate-distortion plots
(published curves dashed) and BD-rate table of the results files, crops of a
few Kodak images as every model and codec codes them at nearly equal bit
rates (with a difference view), what each registered model shows of one
image (`CodingModel.illustrations`), and the checkpoint campaign's training
progress. Reconstructions come from the harness cache: kept files are
decoded; missing ones are coded once and kept there.

Example (the committed page):
  python benchmarks/report.py --data_dir ../shared/data/kodak \\
      --reference_dir ../shared/reference --readme README.md
"""

import os
import re
import shlex
import sys
import time

from PIL import Image

from tfcsuite import UserError, image_io, zoo
from tfcsuite.datasets import kodak
from tfcsuite.harness import (classical, crops, curve_selection, curves,
                              environment, evaluation, model_illustrations,
                              plots, published, readme_block, report_page,
                              results_files, run_flags, training_progress)

RESULTS = os.path.join(zoo.REPO_ROOT, "benchmarks", "results")
FOLDER = "report"  # The page's images, beside it.
README_BEGIN = "<!-- report-crops:begin"
README_END = "<!-- report-crops:end -->"


def parse_args(argv):
  parser = run_flags.documented_parser("report.py", __doc__)
  parser.add_argument(
      "--results", action="append", default=None, metavar="KODAK_JSON",
      help="A harness run's kodak.json, with kodak_per_image.csv beside it "
           "(repeatable; a curve in several files is taken from the first; "
           "default: benchmarks/results/kodak.json).")
  run_flags.add_kodak_flags(parser)
  parser.add_argument(
      "--out", default=RESULTS,
      help="Folder for report.html and report/ (default: benchmarks/results).")
  parser.add_argument(
      "--cache_dir", default=os.path.join(RESULTS, "cache"),
      help="The harness cache holding the points' files (default: "
           "benchmarks/results/cache, kodak.py's for --out "
           "benchmarks/results).")
  parser.add_argument(
      "--crop_images", default=",".join(r.image for r in crops.REGIONS),
      help="Which of the crop regions' images to show (comma-separated).")
  parser.add_argument(
      "--crop_curves", default="all",
      help="Curves whose crops are shown (comma-separated, or 'all').")
  parser.add_argument(
      "--illustrate", default="all",
      help="Registered models asked for illustrations ('all' or 'none').")
  parser.add_argument(
      "--progress", default=os.path.join(RESULTS, "campaign",
                                         "progress.json"),
      help="The campaign's measurements; if present, training_progress.png "
           "is drawn beside it and shown.")
  parser.add_argument(
      "--readme", default=None,
      help="Replace the crop comparison block of this Markdown file.")
  return parser.parse_args(argv)


def _runs(paths):
  """(curves, per-image rows, {curve: threads}, source lines) of the files."""
  all_curves, rows, threads, sources = [], [], {}, []
  for path in paths:
    metadata, run_curves = results_files.read_run(path)
    csv_path = os.path.join(os.path.dirname(path), "kodak_per_image.csv")
    if not os.path.isfile(csv_path):
      raise UserError(f"{csv_path!r} is missing (needed beside {path!r})")
    new = [c for c in run_curves if c.name not in threads]
    rows += [row for row in results_files.read_csv(csv_path)
             if row["curve"] in {c.name for c in new}]
    for curve in new:
      threads[curve.name] = metadata["threads"]["requested"]
    all_curves += new
    names = ", ".join(c.name for c in new) or "nothing new"
    sources.append(f"`{os.path.relpath(path, zoo.REPO_ROOT)}` ({names}): "
                   f"{metadata['date']}, `{metadata['command']}`")
  return all_curves, rows, threads, sources


def _selected_regions(text):
  names = curve_selection.comma_separated(text)
  unknown = [n for n in names if n not in {r.image for r in crops.REGIONS}]
  if unknown:
    raise UserError(f"--crop_images: no crop region in {', '.join(unknown)}"
                    f"; choose from "
                    f"{', '.join(r.image for r in crops.REGIONS)}")
  return [r for r in crops.REGIONS if r.image in names]


def _readme_block(comparison, originals, out_dir, readme):
  """A Markdown table of one comparison's crops, four to a row."""
  folder = os.path.dirname(os.path.abspath(readme))

  def link(path):
    return os.path.relpath(os.path.join(out_dir, path), folder)

  cells = [(f"original {comparison.region.image}",
            originals[comparison.region.image])]
  cells += [(f"{t.label} {t.bpp:.3f} bpp, {t.psnr:.2f} dB", t.file)
            for t in comparison.tiles]
  lines = [f"{comparison.region.image} ({comparison.region.what}) near "
           f"{comparison.target:g} bpp, {crops.SIZE}×{crops.SIZE} crops; under "
           "each: the bpp and PSNR of the whole image "
           f"([all crops]({link('report.html')}#crops)).", ""]
  for start in range(0, len(cells), 4):
    row = cells[start:start + 4]
    lines += ["| " + " | ".join(caption for caption, _ in row) + " |",
              "|" + "---|" * len(row),
              "| " + " | ".join(f"![{caption}]({link(path)})"
                                for caption, path in row) + " |", ""]
  return "\n".join(lines)


def _to_palette(path):
  """Re-saves a plot with 256 colours: a third of the bytes, same look."""
  with Image.open(path) as plot:
    palette = plot.convert("RGB").quantize(colors=256)
  crops.write_png(path, palette)


def _crop_curves(text, all_curves):
  if text.strip() == "all":
    return all_curves
  names = curve_selection.comma_separated(text)
  unknown = set(names) - {c.name for c in all_curves}
  if unknown:
    raise UserError(f"--crop_curves: {', '.join(sorted(unknown))} not in "
                    f"the results files")
  return [c for c in all_curves if c.name in names]


def _write_images(args, regions, image_paths, all_curves, rows, threads):
  """Writes the page's PNGs; returns (plots, comparisons, originals,
  illustrations, illustrated image); removes PNGs of earlier pages."""
  page_dir = os.path.join(args.out, FOLDER)
  os.makedirs(page_dir, exist_ok=True)
  before = set(os.listdir(page_dir))
  published_curves = curves.compare(all_curves, args.reference_dir)
  plot_files = plots.write_plots(page_dir, all_curves, published_curves)
  for _, path in plot_files:
    _to_palette(path)

  shown = _crop_curves(args.crop_curves, all_curves)
  models = (None if args.illustrate == "all" else
            [m for m in curve_selection.comma_separated(args.illustrate)
             if m != "none"])
  # Threads as the results were measured with: the cache keys hold them.
  first = threads[all_curves[0].name]
  classical.configure_threads(first)
  if models != [] or any(c.spec.kind == "model" for c in shown):
    environment.configure_tensorflow_threads(first, {})
  comparisons, originals = crops.make_comparisons(
      shown, rows, threads, evaluation.ResultCache(args.cache_dir),
      image_paths, args.out, FOLDER, regions)

  illustrated = regions[0].image if regions else crops.REGIONS[0].image
  illustrations = model_illustrations.illustrate(
      image_io.read_image(image_paths[illustrated]),
      os.path.splitext(illustrated)[0], args.out, FOLDER, models)

  written = {os.path.basename(p) for _, p in plot_files}
  written |= {os.path.basename(t.file) for c in comparisons for t in c.tiles}
  written |= {os.path.basename(p) for p in originals.values()}
  written |= {os.path.basename(i.file) for i in illustrations}
  for stale in before - written:
    if stale.endswith(".png"):
      os.unlink(os.path.join(page_dir, stale))
  plot_files = [(title, os.path.relpath(path, args.out))
                for title, path in plot_files]
  return plot_files, comparisons, originals, illustrations, illustrated


def run(argv):
  started = time.perf_counter()
  args = parse_args(argv)
  if not args.data_dir:
    raise UserError("no Kodak folder: pass --data_dir or set TFCS_KODAK_DIR")
  regions = _selected_regions(args.crop_images)
  image_paths = dict(zip([r.image for r in crops.REGIONS], kodak.verify(
      args.data_dir, [r.image for r in crops.REGIONS])))
  if args.reference_dir:
    published.check_directory(args.reference_dir)
  if args.readme:
    readme_block.locate(args.readme, README_BEGIN, README_END)
  all_curves, rows, threads, sources = _runs(
      args.results or [os.path.join(RESULTS, "kodak.json")])
  plot_files, comparisons, originals, illustrations, illustrated = (
      _write_images(args, regions, image_paths, all_curves, rows, threads))

  progress_png = os.path.join(os.path.dirname(args.progress),
                              "training_progress.png")
  if os.path.isfile(args.progress):
    training_progress.write_plot(training_progress.read(args.progress),
                                 progress_png)
    _to_palette(progress_png)

  git = environment.git_state()
  generated = [
      f"Generated by `python benchmarks/report.py {shlex.join(argv)}` on "
      f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in "
      f"{time.perf_counter() - started:.0f} s; git "
      f"{(git['sha'] or '?')[:10]}"
      f"{' (uncommitted changes)' if git['dirty'] else ''}; "
      f"{environment.cpu_model()}."]
  page = "".join([
      report_page.header("Kodak: learned models and classical codecs",
                         generated, sources),
      report_page.rd_section(plot_files),
      report_page.bd_section(all_curves),
      report_page.crops_section(comparisons, originals),
      report_page.illustrations_section(illustrated, illustrations),
      report_page.progress_section(
          os.path.relpath(progress_png, args.out)
          if os.path.isfile(progress_png) else None,
          os.path.relpath(args.progress, args.out))])
  html_path = os.path.join(args.out, "report.html")
  image_io.write_bytes(html_path, page.encode(), overwrite=True)
  if args.readme and comparisons:
    readme_block.replace_block(
        args.readme, _readme_block(comparisons[0], originals, args.out,
                                   args.readme), README_BEGIN, README_END)
  print(f"Wrote {html_path} and {FOLDER}/ "
        f"({page_bytes(args.out) / 1e6:.2f} MB with images) in "
        f"{time.perf_counter() - started:.0f} s.")
  return 0


def page_bytes(out_dir):
  """Bytes of report.html and of every image it references."""
  with open(os.path.join(out_dir, "report.html")) as f:
    page = f.read()
  sources = set(re.findall(r'<img src="([^"]+)"', page))
  return len(page.encode()) + sum(
      os.path.getsize(os.path.join(out_dir, source)) for source in sources)


def main(argv=None):
  argv = sys.argv[1:] if argv is None else list(argv)
  try:
    return run(argv)
  except (UserError, OSError) as error:
    print(f"report.py: error: {error}", file=sys.stderr)
    return 1
