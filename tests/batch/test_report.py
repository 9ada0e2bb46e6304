"""report.html: self-contained, failed cases first, every thumbnail decodes; headless Chromium check."""

import base64
import html.parser
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from medpipe.batch.manifest import Row, part_name, read_manifest, write_manifest
from medpipe.batch.qc import save_overlay_png
from medpipe.batch.report import build_report, rebuild

CHROMIUM = "/usr/bin/chromium"


class _Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.links, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])
        if tag in ("link", "script") and (attrs.get("href") or attrs.get("src")):
            self.external.append(attrs)


@pytest.fixture()
def run_folder(tmp_path):
    output = tmp_path / "out"
    rows = []
    for index, case_id in enumerate(["c1", "c2", "c3"]):
        (output / case_id).mkdir(parents=True)
        label = np.zeros((9, 10, 11), np.uint8)
        label[2:5, 3:6, 4:7] = index + 1
        save_overlay_png(output / case_id / "qc.png", np.random.default_rng(index).random(label.shape), label)
        (output / case_id / "pred.nii.gz").write_bytes(b"x")
        rows.append(Row(case_id, "ok" if index != 1 else "skipped", "1 label(s)", 1.0 + index, (f"{case_id}/pred.nii.gz", f"{case_id}/qc.png")))
    rows.append(Row("broken <case>", "failed", "running the bundle: ImageFileError: not a gzip file", 0.1))
    (output / "logs").mkdir()
    (output / "logs" / "broken <case>.log").write_text("traceback")
    build_report(output, rows, title="medpipe run: test")
    return output, rows


def test_report_is_self_contained_and_images_decode(run_folder):
    output, rows = run_folder
    text = (output / "report.html").read_text()
    parser = _Images()
    parser.feed(text)
    assert parser.external == [] and "<style>" in text
    assert len(parser.sources) == 3
    for source in parser.sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert all(not re.match(r"^[a-z]+:", link) for link in parser.links), "links must be relative"
    assert "logs/broken &lt;case&gt;.log" in text and "broken &lt;case&gt;" in text
    assert text.index("broken &lt;case&gt;") < text.index(">c1<")
    assert [r.case_id for r in read_manifest(output / "manifest.csv")] == [r.case_id for r in rows]


def test_rebuild_merges_parts(tmp_path):
    write_manifest(tmp_path / part_name(1, 2), [Row("b", "failed", "bad", 0.5)])
    write_manifest(tmp_path / part_name(0, 2), [Row("a", "ok", "", 1.0)])
    report, rows = rebuild(tmp_path)
    assert [r.case_id for r in rows] == ["a", "b"] and report.is_file()
    assert [r.case_id for r in read_manifest(tmp_path / "manifest.csv")] == ["a", "b"]


def test_rebuild_errors(tmp_path):
    with pytest.raises(ValueError, match="`output` must be an existing run folder"):
        rebuild(tmp_path / "absent")
    with pytest.raises(ValueError, match="`output` must hold manifest.csv"):
        rebuild(tmp_path)


_PROBE = """<script>
window.addEventListener('load', function () {
  var images = Array.from(document.images);
  var broken = images.filter(function (im) { return !im.complete || im.naturalWidth === 0; }).length;
  var rows = document.querySelectorAll('tbody tr').length;
  var marker = document.createElement('pre');
  marker.id = 'probe';
  marker.textContent = 'PROBE images=' + images.length + ' broken=' + broken + ' rows=' + rows;
  document.body.appendChild(marker);
});
</script></body>"""


def _chromium(*args, profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(profile)})


@pytest.mark.skipif(not Path(CHROMIUM).is_file() or shutil.which(CHROMIUM) is None,
                    reason="Debian's chromium is not installed (apt-get install chromium); the test does not install it")
def test_report_renders_in_headless_chromium(run_folder, tmp_path):
    output, rows = run_folder
    screenshot = tmp_path / "report.png"
    shot = _chromium(f"--screenshot={screenshot}", "--window-size=1200,900", (output / "report.html").as_uri(), profile=tmp_path / "p1")
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    probe = tmp_path / "probe.html"
    probe.write_text((output / "report.html").read_text().replace("</body>", _PROBE))
    shutil.copytree(output / "logs", tmp_path / "logs")
    dom = _chromium("--dump-dom", "--virtual-time-budget=5000", probe.as_uri(), profile=tmp_path / "p2").stdout
    match = re.search(r"PROBE images=(\d+) broken=(\d+) rows=(\d+)", dom)
    assert match, dom[-2000:]
    assert (int(match[1]), int(match[2]), int(match[3])) == (3, 0, len(rows))
