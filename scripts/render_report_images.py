"""Render a saved report.json and record what a person sees: PDF pages and an HTML screenshot.

    .venv/bin/python scripts/render_report_images.py REPORT.json [--docs docs]

1. Renders report.html, report.pdf and summary.md from REPORT.json (the path `sia-audit render`
   takes) and prints how long each took.
2. Rasterises every PDF page with pdftoppm into docs/report-page-N.png.
3. Opens report.html in headless Chromium (Debian's `chromium`) and saves a full-page screenshot
   as docs/report-html.png.
4. Checks that the page makes no network request, with Chromium's net log: a control page that
   does fetch must show its requests (so the check can fail), then the report as written and
   the report without its Content-Security-Policy must show none. Requests Chromium itself makes
   (its own services) carry no page origin ("not an origin") and are set aside.

Exits 1 if the network check fails. Needs poppler-utils and chromium (apt-get install).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageChops

from sia_audit.formats import html, json_report, markdown, pdf
from sia_audit.formats.interface import Report

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--hide-scrollbars",
)
CONTROL_PAGE = (
    '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://example.invalid/a.css">'
    '</head><body><img src="http://example.invalid/b.png"></body></html>'
)
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n?')


def render_timed(report: Report, out: Path) -> dict[str, float]:
    """Each format rendered and written to `out`; seconds per format."""
    seconds = {}
    for name, render, filename in (
        ("html", html.render, "report.html"),
        ("pdf", pdf.render, "report.pdf"),
        ("md", markdown.render, "summary.md"),
    ):
        start = time.perf_counter()
        data = render(report)
        seconds[name] = time.perf_counter() - start
        (out / filename).write_bytes(data)
    return seconds


def save_small_png(image: Image.Image, path: Path) -> None:
    """A 256-colour PNG: text and flat colours survive, the repository stays small."""
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        path, optimize=True
    )


def pdf_pages(pdf_path: Path, docs: Path, work: Path, dpi: int) -> list[Path]:
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(pdf_path), str(work / "page")], check=True
    )
    saved = []
    for old in docs.glob("report-page-*.png"):
        old.unlink()
    for i, page in enumerate(sorted(work.glob("page-*.png")), start=1):
        target = docs / f"report-page-{i}.png"
        save_small_png(Image.open(page), target)
        saved.append(target)
    return saved


def chromium(page: Path, screenshot: Path, netlog: Path, size: tuple[int, int]) -> None:
    subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--window-size={size[0]},{size[1]}",
            f"--log-net-log={netlog}",
            f"--screenshot={screenshot}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def page_requests(netlog: Path) -> list[str]:
    """URLs the page asked for: URL requests with a page origin (Chromium's own have none)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        own = params.get("initiator") == "not an origin"
        if event["type"] == start and "url" in params and not own:
            urls.append(params["url"])
    return urls


def trim_bottom(image: Image.Image) -> Image.Image:
    """Cut the empty window below the page's end."""
    background = Image.new(image.mode, image.size, image.getpixel((image.width - 1, 0)))
    box = ImageChops.difference(image, background).getbbox()
    return image if box is None else image.crop((0, 0, image.width, min(image.height, box[3] + 24)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a report.json written by sia-audit")
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="where the PNGs go")
    parser.add_argument("--dpi", type=int, default=100, help="PDF page resolution")
    parser.add_argument("--width", type=int, default=1024, help="browser window width")
    args = parser.parse_args()
    for tool in ("pdftoppm", "chromium"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found; apt-get install -y poppler-utils chromium")
            return 2
    args.docs.mkdir(parents=True, exist_ok=True)
    files = ("report.json", "report.html", "report.pdf", "summary.md")
    report = json_report.load(args.report, files)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "report.json").write_bytes(report.json_bytes)
        seconds = render_timed(report, work)
        print(
            "render seconds: "
            + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
            + f"; total {sum(seconds.values()):.2f}"
        )
        print(f"report.pdf: {(work / 'report.pdf').stat().st_size} bytes")
        pages = pdf_pages(work / "report.pdf", args.docs, work, args.dpi)
        print(f"PDF pages: {len(pages)} -> {', '.join(str(p) for p in pages)}")

        (work / "control.html").write_text(CONTROL_PAGE)
        (work / "no-csp.html").write_text(CSP.sub("", (work / "report.html").read_text()))
        results = {}
        for name in ("control.html", "report.html", "no-csp.html"):
            shot = work / f"{name}.png"
            chromium(work / name, shot, work / f"{name}.netlog.json", (args.width, 9000))
            results[name] = page_requests(work / f"{name}.netlog.json")
            print(f"{name}: {len(results[name])} page request(s) {results[name]}")
            if name == "report.html":
                target = args.docs / "report-html.png"
                save_small_png(trim_bottom(Image.open(shot).convert("RGB")), target)
                print(f"screenshot: {target}")
    if not results["control.html"]:
        print("network check FAILED: the control page's requests were not seen; check the method")
        return 1
    if results["report.html"] or results["no-csp.html"]:
        print("network check FAILED: the report asked the network for something")
        return 1
    print("network check passed: the control page fetched, the report (with or without CSP) not")
    return 0


if __name__ == "__main__":
    sys.exit(main())
