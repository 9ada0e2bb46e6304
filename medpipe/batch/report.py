"""``report.html``: one static, self-contained page (inline CSS, base64 images) per run.

Failed cases come first, then the others by case id. Every case shows its status, message,
duration, a QC thumbnail (``<case>/qc.png`` embedded as a ``data:`` URI) and relative links to
its outputs and log, so the page opens from disk with no server.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

from medpipe.batch.manifest import Row, merge_manifests, write_manifest

__all__ = ["build_report", "rebuild", "write_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .3em} .summary span{display:inline-block;margin-right:1em;padding:.2em .6em;border-radius:4px}
table{border-collapse:collapse;width:100%;background:#fff} th,td{border:1px solid #ddd;padding:.35em .5em;vertical-align:top;font-size:.9em}
th{background:#eee;text-align:left} tr.failed td{background:#fff0f0} .ok{background:#dff3e0} .skipped{background:#eef}
.summary .failed,.status-failed{background:#f8caca} img.thumb{height:120px;display:block} td.msg{max-width:32em;word-break:break-word}
a{color:#1456a0} .outputs a{display:block;font-size:.85em}
"""


def _data_uri(png: Path) -> str | None:
    try:
        return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
    except OSError:
        return None


def _link(path: str) -> str:
    target = html.escape(path.replace(os.sep, "/"), quote=True)
    return f'<a href="{target}">{html.escape(Path(path).name)}</a>'


def write_html(output: Path, rows: list[Row], title: str) -> Path:
    """Write ``output/report.html`` for ``rows`` (atomically) and return its path."""
    output = Path(output)
    counts = {s: sum(r.status == s for r in rows) for s in ("ok", "skipped", "failed")}
    ordered = [r for r in rows if r.status == "failed"] + [r for r in rows if r.status != "failed"]
    lines = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        '<p class="summary">' + "".join(f'<span class="{s}">{s}: {n}</span>' for s, n in counts.items())
        + f"<span>cases: {len(rows)}</span><span>total: {sum(r.duration_s for r in rows):.1f} s</span></p>",
        "<table><thead><tr><th>case</th><th>status</th><th>message</th><th>duration (s)</th><th>QC</th><th>outputs</th></tr></thead><tbody>",
    ]
    for row in ordered:
        uri = _data_uri(output / row.case_id / "qc.png") if row.status != "failed" else None
        thumb = f'<img class="thumb" alt="QC {html.escape(row.case_id)}" src="{uri}">' if uri else ""
        links = [_link(o) for o in row.outputs]
        log = Path("logs") / f"{row.case_id}.log"
        if (output / log).is_file():
            links.append(_link(str(log)))
        lines.append(
            f'<tr class="{row.status}" id="case-{html.escape(row.case_id, quote=True)}"><td>{html.escape(row.case_id)}</td>'
            f'<td class="status-{row.status}">{row.status}</td><td class="msg">{html.escape(row.message)}</td>'
            f"<td>{row.duration_s:.2f}</td><td>{thumb}</td><td class=\"outputs\">{''.join(links)}</td></tr>"
        )
    lines += ["</tbody></table>", "</body></html>", ""]
    path = output / "report.html"
    tmp = output / ".report.html.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path


def build_report(output: Path, rows: list[Row], title: str | None = None) -> Path:
    """Write ``manifest.csv`` and ``report.html`` for ``rows`` into ``output``."""
    output = Path(output)
    write_manifest(output / "manifest.csv", rows)
    if title is None:
        title = _title(output)
    return write_html(output, rows, title)


def _title(output: Path) -> str:
    info = output / "run.json"
    try:
        bundle = json.loads(info.read_text()).get("bundle", "")
    except (OSError, json.JSONDecodeError):
        bundle = ""
    return f"medpipe run: {bundle}" if bundle else "medpipe run"


def rebuild(output: str | Path) -> tuple[Path, list[Row]]:
    """Merge the shard manifests of ``output`` and (re)write ``manifest.csv`` and ``report.html``.

    Raises:
        ValueError: when ``output`` is not a folder or holds no manifest (see
            :func:`medpipe.batch.manifest.merge_manifests`).
    """
    output = Path(output)
    if not output.is_dir():
        raise ValueError(f"`output` must be an existing run folder, got {str(output)!r}")
    rows = merge_manifests(output)
    return build_report(output, rows), rows
