"""What headless Chromium (Debian's /usr/bin/chromium) loads of a static page.

The page is copied with a <base> pointing at its folder and a script that,
once the page has loaded, writes each <img>'s naturalWidth (0: not loaded)
and each table's row count into the DOM, which Chromium then dumps. The
browser runs without sandbox, GPU, background networking, component updates
or sync, in a fresh profile.
"""

import html
import json
import os
import pathlib
import re
import subprocess

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run")
PROBE = """<script>
window.addEventListener("load", () => {
  const found = {
    images: Array.from(document.images, i => [i.getAttribute("src"),
                                              i.naturalWidth]),
    tables: Array.from(document.querySelectorAll("table"),
                       t => [t.id, t.rows.length])};
  const out = document.createElement("pre");
  out.id = "page-check";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


def require_chromium():
  if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} "
                f"(apt-get install chromium; .ci/run installs it)")


def chromium(tmp_path, *arguments):
  """Runs headless Chromium with a fresh profile; its stdout."""
  profile = tmp_path / "chromium-profile"
  result = subprocess.run(
      [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments],
      capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr[-2000:]
  return result.stdout


def loaded(page, tmp_path):
  """{"images": [[src, naturalWidth]], "tables": [[id, rows]]} of a page."""
  page = pathlib.Path(page).resolve()
  text = page.read_text()
  base = f'<base href="{page.parent.as_uri()}/">'
  probe = tmp_path / "probe.html"
  probe.write_text(text.replace("<head>", "<head>" + base, 1)
                   .replace("</body>", PROBE + "</body>", 1))
  dom = chromium(tmp_path, "--virtual-time-budget=20000", "--dump-dom",
                 probe.as_uri())
  found = re.search(r'<pre id="page-check">(.*?)</pre>', dom, re.S)
  assert found, "the page's load event never ran"
  return json.loads(html.unescape(found.group(1)))
