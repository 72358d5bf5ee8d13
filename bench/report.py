"""Statistics, the printed table and bench/RESULTS.md: plain functions, no torch at import."""
from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ("part", "measurement", "Danlu / subject", "baseline", "ratio", "goal", "verdict")


@dataclass
class Row:
    part: str
    measurement: str
    value: str  # Danlu's number (or the measured subject's)
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    verdict: str = ""  # "met", "missed by ...", "skipped: ...", or empty when there is no goal

    def cells(self) -> tuple[str, ...]:
        return (self.part, self.measurement, self.value, self.baseline, self.ratio, self.goal, self.verdict)


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # part -> lines for RESULTS.md

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def note(self, part: str, line: str) -> None:
        self.notes.setdefault(part, []).append(line)


# ---------------------------------------------------------------------------------------
# Numbers


def median(values) -> float:
    return statistics.median(values)


def quartiles(values) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def ratio_text(r: float) -> str:
    return f"{r:.3f}"


def verdict_at_most(value: float, limit: float, what: str = "") -> str:
    """'met' when value <= limit, else how far over, in percent of the limit."""
    if value <= limit:
        return "met"
    return f"missed by {(value / limit - 1) * 100:.1f}%{' ' + what if what else ''}"


def verdict_at_least(value: float, floor: float, unit: str = "%") -> str:
    if value >= floor:
        return "met"
    if unit == "%":
        return f"missed by {(floor - value) * 100:.1f} points"
    return f"missed by {floor - value:g}{unit}"


# ---------------------------------------------------------------------------------------
# The machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine_info() -> dict[str, str]:
    ram = ram_bytes()
    info = {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": f"{ram / 2**30:.1f} GiB" if ram else "unknown",
        "OS": platform.platform(),
    }
    if hasattr(os, "getloadavg"):
        info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def versions() -> dict[str, str]:
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for name in ("torch", "diffusers", "peft", "transformers", "accelerate"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = "not installed"
    return found


# ---------------------------------------------------------------------------------------
# Output


def format_table(rows: list[Row]) -> str:
    """A Markdown table (also readable as printed text)."""
    lines = [COLUMNS] + [r.cells() for r in rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(COLUMNS))]

    def fmt(cells) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    out = [fmt(COLUMNS), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(r.cells()) for r in rows]
    return "\n".join(out)


def results_markdown(results: Results, machine: dict, versions_: dict, *, date: str | None = None,
                     command: str = "python -m bench", seconds: float | None = None, preamble: str = "") -> str:
    date = date or dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts = ["# Danlu benchmark results", "",
             f"Written by `{command}` on {date}" + (f" (the whole run took {seconds:.0f} s)." if seconds else "."), ""]
    if preamble:
        parts += [preamble.strip(), ""]
    parts += ["## Machine", ""] + [f"- {k}: {v}" for k, v in machine.items()] + [""]
    parts += ["## Versions", ""] + [f"- {k} {v}" for k, v in versions_.items()] + [""]
    parts += ["## Results", "", format_table(results.rows), ""]
    for part, lines in results.notes.items():
        parts += [f"## {part}", ""] + lines + [""]
    return "\n".join(parts)


def write_results(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _parse_table(lines: list[str]) -> list[Row]:
    rows = []
    for line in lines[2:]:  # after the header and the rule
        # Keep a cell's leading spaces: an indented measurement belongs to the row above it.
        cells = [cell[1:].rstrip() for cell in line.strip().split("|")[1:-1]]
        if len(cells) == len(COLUMNS):
            rows.append(Row(*cells))
    return rows


def _part_key(title: str) -> tuple:
    number = title.split(".", 1)[0]
    return (int(number), title) if number.isdigit() else (10**6, title)


def update_part(path: Path, part: str, results: Results) -> Path:
    """Replace one part's rows and notes in an existing RESULTS.md, keeping every other part as it
    was measured (a part measured on its own, like `python -m bench.scan_timing`)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if "## Results" not in text:
        return write_results(path, results_markdown(results, machine_info(), versions(),
                                                    command=f"python -m bench (part {part} only)"))
    head, _, after = text.partition("## Results\n")
    lines = after.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    rows = [r for r in _parse_table(lines[start:end]) if r.part != part] + list(results.rows)
    rows.sort(key=lambda r: _part_key(r.part))
    rest = "\n".join(lines[end:])
    # The notes: "## <title>" sections; this part's are replaced, the order follows the part numbers.
    chunks = rest.split("\n## ")
    lead, sections = chunks[0], {}
    for chunk in chunks[1:]:
        title, _, body = chunk.partition("\n")
        sections[title] = body
    sections = {t: b for t, b in sections.items() if not t.startswith(f"{part}.")}
    for title, note_lines in results.notes.items():
        sections[title] = "\n" + "\n".join(note_lines) + "\n"
    body = "".join(f"\n## {t}\n{sections[t]}" for t in sorted(sections, key=_part_key))
    between = lead.strip("\n")  # whatever stood between the table and the first note is kept
    text = (head + "## Results\n" + "".join(line + "\n" for line in lines[:start]) + format_table(rows) + "\n"
            + (f"\n{between}\n" if between else "") + body)
    return write_results(path, text)
