"""Reading the training set (issue 11, part 6): header-only scan, the full check, and the scans
that reuse it (trainer/probe_cache.py).

    .venv/bin/python -m bench.scan_timing                 # 2,000 JPEGs of about 1 MP; updates part 6 of RESULTS.md
    .venv/bin/python -m bench.scan_timing --images 200    # a quick run
    .venv/bin/python -m bench.scan_timing --no-results    # print only

The images are generated once (a smooth random field with film-grain noise, JPEG quality 90,
about 350 KB each at 1 MP, five aspect ratios) into a folder under the system's temporary
folder, and reused by later runs. Four cases, each on the same folder:

1. header-only scan, as the page's live arithmetic does it (`scan_dataset(verify=False)`),
   nothing cached (the median of 3);
2. the first full check (`verify=True`, no cache): every file read to its end and decoded at
   1/8 scale, as the page's background check does it; what the page, Start and the trainer
   each did before this cache existed;
3. a second full scan of the unchanged folder in the same process: the dataset check or Start
   after the background check (the median of 3);
4. the trainer's preflight scan after the page's check: a new Python process running
   `scan_dataset(verify=True)` against the cache file the page wrote; only the scan is timed,
   not the interpreter's start (the median of 3).

The files sit in the operating system's file cache (they were just written or read), so these
are CPU costs; from a cold disk the header read and the full check both wait for the disk too.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PART = "6"
TITLE = "6. Reading the training set"
SIZES = [(1024, 1024), (896, 1152), (1152, 896), (832, 1216), (1216, 832)]  # about 1 MP, SD buckets' shapes
FOLDER_NAME = "10_bench"
RECIPE = "v1: 12x12 random field, bicubic, blended 0.25 with effect_noise(sigma 32), JPEG q90"
SECOND_SCAN_GOAL_S = 1.0


def log(message: str) -> None:
    print(message, flush=True)


def default_folder(images: int) -> Path:
    return Path(tempfile.gettempdir()) / f"danlu-bench-jpegs-{images}"


def _one_image(path: Path, size: tuple[int, int], seed: int) -> int:
    from PIL import Image

    rng = random.Random(seed)
    base = Image.frombytes("RGB", (12, 12), rng.randbytes(12 * 12 * 3)).resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 32).convert("RGB")
    Image.blend(base, grain, 0.25).save(path, "JPEG", quality=90)
    path.with_suffix(".txt").write_text(f"bench, 1girl, tag{seed % 50}", encoding="utf-8")
    return path.stat().st_size


def make_jpegs(root: Path, images: int) -> Path:
    """root/10_bench/img0000.jpg ... with captions; kept and reused while the recipe and count match."""
    marker = root / ".bench-made.json"
    wanted = {"recipe": RECIPE, "images": images}
    try:
        if json.loads(marker.read_text(encoding="utf-8")) == wanted:
            return root
    except (OSError, ValueError):
        pass
    shutil.rmtree(root, ignore_errors=True)
    folder = root / FOLDER_NAME
    folder.mkdir(parents=True)
    log(f"[6] generating {images} JPEGs of about 1 MP in {root} (once; later runs reuse them)")
    t0 = time.perf_counter()
    jobs = [(folder / f"img{i:04d}.jpg", SIZES[i % len(SIZES)], i) for i in range(images)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # encoding releases the GIL
        list(pool.map(lambda job: _one_image(*job), jobs))
    marker.write_text(json.dumps(wanted), encoding="utf-8")
    log(f"    done in {time.perf_counter() - t0:.0f} s")
    return root


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def _fresh_start(root: Path) -> None:
    """No cache anywhere: neither in this process's memory nor on disk."""
    from trainer import probe_cache

    probe_cache.forget_all()
    probe_cache.cache_file_for(root).unlink(missing_ok=True)


_CHILD = """
import json, sys, time
from trainer.dataset import scan_dataset
t0 = time.perf_counter()
scan = scan_dataset(sys.argv[1], verify=True)
print("SCAN_RESULT " + json.dumps({"seconds": time.perf_counter() - t0, "decoded": scan.decoded,
                                   "images": scan.images}))
"""


def _scan_in_new_process(root: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(root)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("SCAN_RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"the scan in a new process failed: {proc.stderr[-2000:]}")
    return json.loads(lines[-1].split(" ", 1)[1])


def measure(root: Path, repeats: int = 3) -> dict:
    """The four cases on the folder `root` (a training folder). Leaves the cache file in place."""
    from trainer import probe_cache
    from trainer.dataset import scan_dataset

    files = sorted((root / FOLDER_NAME).glob("*.jpg")) or sorted(root.glob("*/*.jpg"))
    record = {"images": len(files), "bytes": sum(f.stat().st_size for f in files), "cpus": os.cpu_count()}

    header = []
    for _ in range(repeats):
        _fresh_start(root)
        seconds, scan = _timed(lambda: scan_dataset(root, verify=False))
        assert scan.decoded == 0, "a header-only scan decoded files"
        header.append(seconds)
    record["header_s"] = header

    _fresh_start(root)
    seconds, scan = _timed(lambda: scan_dataset(root, verify=True))
    record["full_s"] = seconds
    record["full_decoded"] = scan.decoded
    cache_file = probe_cache.cache_file_for(root)
    record["cache_file_bytes"] = cache_file.stat().st_size if cache_file.is_file() else 0

    second, decoded = [], []
    for _ in range(repeats):
        seconds, scan = _timed(lambda: scan_dataset(root, verify=True))
        second.append(seconds)
        decoded.append(scan.decoded)
    record["second_s"], record["second_decoded"] = second, max(decoded)

    header_warm = []
    for _ in range(repeats):
        seconds, _ = _timed(lambda: scan_dataset(root, verify=False))
        header_warm.append(seconds)
    record["header_again_s"] = header_warm

    trainer = [_scan_in_new_process(root) for _ in range(repeats)]
    record["trainer_s"] = [r["seconds"] for r in trainer]
    record["trainer_decoded"] = max(r["decoded"] for r in trainer)
    probe_cache.forget_all()
    return record


def add_results(record: dict, results) -> None:
    """Rows and notes of part 6 into a bench.report.Results."""
    from .report import Row, ratio_text, verdict_at_most

    n = record["images"]
    header = statistics.median(record["header_s"])
    full = record["full_s"]
    second = statistics.median(record["second_s"])
    trainer = statistics.median(record["trainer_s"])
    label = f"{n:,} JPEGs of ~1 MP"
    results.add(Row(PART, f"{label}: header-only scan (the page's live arithmetic), nothing cached",
                    f"{header:.2f} s", f"{full:.2f} s (full check)", ratio_text(header / full), "", ""))
    results.add(Row(PART, "  first full check, every file read and decoded (the page's background check)",
                    f"{full:.2f} s", "", "", "", ""))
    results.add(Row(PART, "  second full scan of the unchanged folder, same process (dataset check, Start)",
                    f"{second:.3f} s", f"{full:.2f} s (first)", ratio_text(second / full), f"< {SECOND_SCAN_GOAL_S:g} s",
                    verdict_at_most(second, SECOND_SCAN_GOAL_S)))
    results.add(Row(PART, "  the trainer's preflight scan after the page's check (a new process, cache file)",
                    f"{trainer:.3f} s", f"{header:.3f} s (header-only)", ratio_text(trainer / header),
                    "near header-only", ""))
    mb = record["bytes"] / 1e6
    results.note(TITLE, f"{n:,} JPEG files of about 1 MP ({', '.join(f'{w}x{h}' for w, h in SIZES)}; {mb:,.0f} MB, "
                        f"{record['bytes'] / n / 1024:.0f} KB each on average), each with a caption, in one "
                        f"`10_bench` folder; generated once by bench/scan_timing.py ({RECIPE}). "
                        f"{record['cpus']} CPU cores, thread pool of trainer/dataset.py's default size. The files "
                        f"are in the OS file cache, so these are CPU costs (a cold disk adds its reading time to "
                        f"the header scan and the full check).")
    results.note(TITLE, f"- header-only scan, nothing cached (`scan_dataset(verify=False)`): "
                        f"{', '.join(f'{s:.2f}' for s in record['header_s'])} s, "
                        f"{header / n * 1e3:.2f} ms an image; 0 files decoded. Again with the cache in memory: "
                        f"{', '.join(f'{s:.2f}' for s in record['header_again_s'])} s.")
    results.note(TITLE, f"- first full check (`verify=True`, no cache): {full:.2f} s, {full / n * 1e3:.2f} ms an "
                        f"image, {record['full_decoded']:,} files decoded; it wrote the cache file "
                        f"`.danlu-probe/images.json` ({record['cache_file_bytes'] / 1024:.0f} KB). Before the cache, "
                        f"the page, Start and the trainer each paid this: {3 * full:.1f} s for one run.")
    results.note(TITLE, f"- second full scan, unchanged folder, same process: "
                        f"{', '.join(f'{s:.3f}' for s in record['second_s'])} s, "
                        f"{record['second_decoded']} files decoded (stat, cache lookup and caption read per file).")
    results.note(TITLE, f"- the trainer's scan in a new process after the page's check (reads the cache file): "
                        f"{', '.join(f'{s:.3f}' for s in record['trainer_s'])} s, {record['trainer_decoded']} files "
                        f"decoded; x{trainer / header:.2f} the header-only scan. Now one run reads every file in "
                        f"full once ({full:.1f} s, in the page's background) plus "
                        f"{header + second + trainer:.2f} s of scans in the page, at Start and in the trainer.")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.scan_timing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="how many JPEGs (2000; fewer for a quick run)")
    parser.add_argument("--folder", type=Path, help="where the JPEGs are made and kept (default: a temp folder)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md",
                        help="the RESULTS.md whose part 6 is replaced")
    parser.add_argument("--no-results", action="store_true", help="print only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from .report import Results, format_table, machine_info, update_part

    args = parse_args(argv)
    root = make_jpegs(args.folder or default_folder(args.images), args.images)
    log(f"[6] scanning {args.images} JPEGs: header-only, full check, second scan, a new process")
    record = measure(root)
    results = Results()
    add_results(record, results)
    log("\n" + format_table(results.rows) + "\n")
    if not args.no_results:
        machine = machine_info()
        command = "python -m bench.scan_timing" + (" " + " ".join(argv) if argv else "")
        header = (f"Measured by `{command}` on "
                  f"{time.strftime('%Y-%m-%d %H:%M %Z')}, apart from the other parts: {machine['CPU']}, "
                  f"{machine['cores']} cores, load average at start {machine.get('load average at start', '?')}.")
        results.notes[TITLE].insert(0, header + "\n")
        update_part(args.results, PART, results)
        log(f"updated part {PART} of {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
