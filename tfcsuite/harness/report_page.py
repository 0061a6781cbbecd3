"""The visual report as one static HTML page (no script, no network).

Images are PNG files beside the page, referenced by relative paths. The
difference view of a crop is drawn by the browser from the two crops already
on the page (CSS `mix-blend-mode: difference` under `filter: brightness(4)`:
|reconstruction − original| × 4 per channel), so it costs no bytes.
"""

import html
import re

from tfcsuite.harness import crops, markdown

ZOOM = 2

STYLE = f"""
body {{ font-family: sans-serif; margin: 1.5em; max-width: 1500px; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #bbb; padding: 0.2em 0.5em; }}
td.number {{ text-align: right; }}
.plots img {{ max-width: 49%; }}
.row {{ display: flex; flex-wrap: wrap; gap: 0.8em; }}
figure {{ margin: 0; font-size: 0.8em; }}
.zoom {{ width: {crops.SIZE * ZOOM}px; height: {crops.SIZE * ZOOM}px;
        image-rendering: pixelated; display: block; }}
.difference {{ position: relative; width: {crops.SIZE * ZOOM}px;
              height: {crops.SIZE * ZOOM}px; isolation: isolate;
              filter: brightness(4); margin-top: 2px; }}
.difference img {{ position: absolute; top: 0; left: 0; }}
.difference img.reconstruction {{ mix-blend-mode: difference; }}
.illustration img {{ min-width: 256px; image-rendering: pixelated; }}
.meta, .missing {{ color: #555; font-size: 0.85em; }}
"""


def _text(value):
  return html.escape(str(value))


def _inline(markdown_text):
  """Escaped text with Markdown code spans as <code>."""
  return re.sub(r"`([^`]*)`", r"<code>\1</code>", _text(markdown_text))


def _image(src, alt, css=None):
  css = f' class="{css}"' if css else ""
  return f'<img src="{_text(src)}" alt="{_text(alt)}"{css}>'


def header(title, generated, sources):
  """generated: lines on the run; sources: lines on each results file."""
  items = "".join(f"<li>{_inline(line)}</li>" for line in sources)
  return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          f"<title>{_text(title)}</title><style>{STYLE}</style></head>\n"
          f"<body>\n<h1>{_text(title)}</h1>\n"
          f"<p class=\"meta\">{'<br>'.join(_inline(g) for g in generated)}"
          f"</p>\n<p>Results files:</p><ul class=\"meta\">{items}</ul>\n"
          "<p><a href=\"#rd\">Rate–distortion</a> · <a href=\"#bd\">BD-rates"
          "</a> · <a href=\"#crops\">Crops at equal rate</a> · <a href=\""
          "#illustrations\">How the models see an image</a> · <a href=\""
          "#progress\">Training progress</a></p>\n")


def rd_section(plots):
  images = "".join(_image(path, title) for title, path in plots)
  return ("<h2 id=\"rd\">Rate–distortion on Kodak</h2>\n"
          "<p>Means over the 24 images. Solid lines: measured by the harness; "
          "dashed: the curve the paper (or TFC) published for the same "
          f"method, in the same colour.</p>\n<div class=\"plots\">{images}"
          "</div>\n")


def bd_section(curves):
  rows, notes = markdown.summary_table(curves)
  head = "".join(f"<th>{_text(cell)}</th>" for cell in
                 markdown.SUMMARY_HEADER)
  body = "".join(
      "<tr>" + "".join(
          f"<td{'' if i in (0, 5) else ' class=number'}>{_inline(cell)}</td>"
          for i, cell in enumerate(row)) + "</tr>\n" for row in rows)
  listed = "".join(f"<li>[{i}] {_inline(note)}</li>"
                   for i, note in enumerate(notes, 1))
  return ("<h2 id=\"bd\">BD-rates</h2>\n<p>BD-rate: average bit-rate change "
          "at equal PSNR (negative: fewer bits); BD-PSNR: average PSNR change "
          "at equal bit rate; bpp counts whole files, headers included.</p>\n"
          f"<table id=\"bd-rates\"><tr>{head}</tr>\n{body}</table>\n"
          f"<ul class=\"meta\">{listed}</ul>\n")


def _tile(src, original, caption_lines):
  caption = "<br>".join(caption_lines)
  difference = ("" if original is None else
                f"<div class=\"difference\">"
                f"{_image(original, 'original', 'zoom')}"
                f"{_image(src, 'difference', 'zoom reconstruction')}</div>")
  return (f"<figure>{_image(src, caption_lines[0], 'zoom')}{difference}"
          f"<figcaption>{caption}</figcaption></figure>\n")


def crops_section(comparisons, originals):
  parts = [
      "<h2 id=\"crops\">Crops at (nearly) equal bit rate</h2>\n",
      f"<p>{crops.SIZE}×{crops.SIZE} crops shown at {ZOOM}× (pixels not "
      "smoothed). For each target rate, every curve shows its point whose "
      f"file for this image is nearest the target (within ±"
      f"{crops.TOLERANCE:.0%}); under each: the point, the bpp of the whole "
      "file and the PSNR of the whole image (and of the crop). Below each "
      "crop: |reconstruction − original| × 4 per channel, drawn by the "
      "browser (black: no error).</p>\n"]
  shown = set()
  for comparison in comparisons:
    region = comparison.region
    if region.image not in shown:
      shown.add(region.image)
      parts.append(f"<h3>{_text(region.image)}: {_text(region.what)} (x "
                   f"{region.x}, y {region.y})</h3>\n")
    original = originals[region.image]
    tiles = [_tile(original, None, ["original", region.image])]
    tiles += [_tile(tile.file, original, [
        f"<b>{_text(tile.label)}</b> {_text(tile.point)}",
        f"{tile.bpp:.3f} bpp · {tile.psnr:.2f} dB",
        f"crop {tile.crop_psnr:.2f} dB"]) for tile in comparison.tiles]
    parts.append(f"<h4>near {comparison.target:g} bpp</h4>\n"
                 f"<div class=\"row\">{''.join(tiles)}</div>\n")
    if comparison.missing:
      missing = "; ".join(f"{_text(label)} ({_text(why)})"
                          for label, why in comparison.missing)
      parts.append(f"<p class=\"missing\">Not shown: {missing}.</p>\n")
  return "".join(parts)


def illustrations_section(image_name, illustrations):
  parts = ["<h2 id=\"illustrations\">How the models see an image</h2>\n"]
  if not illustrations:
    return parts[0] + "<p>No registered model shows anything here.</p>\n"
  parts.append(f"<p>What each model makes of {_text(image_name)} besides "
               "its reconstruction (<code>CodingModel.illustrations</code>, "
               "default checkpoint).</p>\n<div class=\"row\">")
  for item in illustrations:
    width, height = item.size
    note = ("" if item.shown == item.size else
            f", shown at {item.shown[0]}×{item.shown[1]}")
    parts.append(
        f"<figure class=\"illustration\">{_image(item.file, item.caption)}"
        f"<figcaption><b>{_text(item.model)}</b> ({_text(item.checkpoint)}): "
        f"{_text(item.caption)} ({width}×{height}{note})</figcaption>"
        "</figure>\n")
  return "".join(parts) + "</div>\n"


def progress_section(plot, source):
  """plot: the PNG's path relative to the page, or None."""
  body = (f"<p>{_image(plot, 'training progress')}</p><p class=\"meta\">From "
          f"{_text(source)}.</p>" if plot else
          f"<p>No campaign measurements yet ({_text(source)} is absent).</p>")
  return ("<h2 id=\"progress\">Training progress of the checkpoint campaign"
          f"</h2>\n<p>Kodak RD loss L against CPU-hours of training.</p>\n"
          f"{body}\n</body></html>\n")
