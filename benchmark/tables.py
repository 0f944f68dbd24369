"""The report's data model and its text formats.

A report is a list of Sections (one per suite and profile); a Section holds Tables and Figures.
A Table holds Cells: numbers with their spread or interval and run count, or verbatim text (row
labels, published values, n/a with a note). The renderers below turn the same tables into
markdown, LaTeX (booktabs) and CSV; benchmark/leaderboard.py turns them into the HTML page.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The report's options (benchmark/report.py's ReportOptions), here so that the command line names them
# without importing pandas.
NORMALIZATIONS = ("protocol", "lfl", "expert")
AGGREGATES = ("mean", "iqm")
NORMALIZED = "normalized"  # the --metric value meaning "the normalized score" (the default)


@dataclass(frozen=True)
class Cell:
    """One table entry. A number has a point estimate and optionally a std over runs (`spread`)
    or a 95% confidence interval (`lower`, `upper`), and the run count n; text is shown verbatim."""

    point: float | None = None
    spread: float | None = None
    lower: float | None = None
    upper: float | None = None
    n: int | None = None
    text: str | None = None
    best: bool = False
    digits: int = 2

    @property
    def is_number(self) -> bool:
        return self.text is None and self.point is not None and math.isfinite(self.point)

    def parts(self) -> tuple[str, str, str]:
        """(value, uncertainty, count) as plain strings: ("0.97", "± 0.01", "(10)") or
        ("0.97", "[0.95, 0.99]", "(10)"); text cells give (text, "", "")."""
        if self.text is not None:
            return self.text, "", ""
        if self.point is None or not math.isfinite(self.point):
            return "n/a", "", ""
        d = self.digits
        value = number(self.point, d)
        if self.lower is not None and self.upper is not None:
            uncertainty = f"[{self.lower:.{d}f}, {self.upper:.{d}f}]"
        elif self.spread is not None:
            uncertainty = f"± {self.spread:.{d}f}"
        else:
            uncertainty = ""
        return value, uncertainty, f"({self.n})" if self.n is not None else ""

    def plain(self) -> str:
        return " ".join(p for p in self.parts() if p)


def number(x: float, digits: int = 2) -> str:
    """Fixed point, or scientific for magnitudes too small to show (Table 1's 1e-14 regrets)."""
    if x != 0 and abs(x) < 0.5 * 10 ** -digits:
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def text(value: Any) -> Cell:
    return Cell(text="" if value is None else str(value))


@dataclass(frozen=True)
class Table:
    """name: a slug unique within its section (file names, anchors); rows: Cells, the first
    column being the row label; notes: footnotes printed under the table.

    For the HTML page: column_protocols gives each column's protocol ("sequence", "expert" or ""
    for both/none), so the page can filter columns by protocol; row_configs gives each row the
    resolved config behind it (JSON text, "" for none). row_kinds marks each row "reference" (a
    reference row such as the oracle, not a method: the formats set it apart from the rows above
    it) or "" (none given: every row is a plain row)."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()
    column_protocols: tuple[str, ...] = ()
    row_configs: tuple[str, ...] = ()
    row_kinds: tuple[str, ...] = ()
    keys: int = 1  # the leading columns that name a row: a markdown table split to fit repeats them

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.name!r}: a row has {len(row)} cells for {len(self.columns)} columns")
        if self.column_protocols and len(self.column_protocols) != len(self.columns):
            raise ValueError(f"table {self.name!r}: column_protocols must match the columns")
        if self.row_configs and len(self.row_configs) != len(self.rows):
            raise ValueError(f"table {self.name!r}: row_configs must match the rows")
        if self.row_kinds and len(self.row_kinds) != len(self.rows):
            raise ValueError(f"table {self.name!r}: row_kinds must match the rows")

    def row_kind(self, i: int) -> str:
        return self.row_kinds[i] if self.row_kinds else ""

    def starts_reference(self, i: int) -> bool:
        """Whether row i is a reference row after a plain one (where a rule sets them apart)."""
        return self.row_kind(i) == "reference" and i > 0 and self.row_kind(i - 1) != "reference"


@dataclass(frozen=True)
class Figure:
    """A drawn figure: its PNG and PDF, and the name their files get (name.png, name.pdf)."""

    name: str
    caption: str
    png: bytes = field(repr=False)
    pdf: bytes = field(repr=False)

    def write(self, directory: str | os.PathLike) -> list[Path]:
        """Writes name.png and name.pdf into `directory`; returns their paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        return [write_atomically(directory / f"{self.name}.png", self.png),
                write_atomically(directory / f"{self.name}.pdf", self.pdf)]


def write_atomically(path: Path, content: str | bytes) -> Path:
    """A reader never sees a half-written file: write beside it, then rename over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(content, bytes):
        temporary.write_bytes(content)
    else:
        temporary.write_text(content)
    temporary.replace(path)
    return path


@dataclass(frozen=True)
class Section:
    """One suite at one profile: its tables, its figures and the trials behind them."""

    suite: str
    profile: str
    title: str
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...] = ()
    trials: Any = None  # pd.DataFrame: one row per trial with its resolved config (the HTML page)
    note: str = ""

    @property
    def slug(self) -> str:
        return slug(f"{self.suite}-{self.profile}")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# ----- markdown ---------------------------------------------------------------------------------

WIDTH = 100  # a terminal's columns: markdown lines wider than this are split (tables) or wrapped (headings)


def markdown_grid(table: Table, width: int = WIDTH) -> str:
    """The table's header, rule and rows, without its title and notes. A table whose widest row
    would pass `width` columns is split into column groups, each led by the label column."""
    def cell(c: Cell) -> str:
        shown = markdown_escape(c.plain())
        return f"**{shown}**" if c.best and shown else shown

    header = [markdown_escape(c) for c in table.columns]
    rows = [[cell(c) for c in row] for row in table.rows]
    widths = [max(map(len, column)) for column in zip(header, *rows)]
    blocks = []
    for group in column_groups(widths, width, table.keys, glued(table.columns)):
        line = lambda values: "| " + " | ".join(values[i] for i in group) + " |"  # noqa: E731
        blocks.append("\n".join([line(header), line(["---"] * len(header)), *map(line, rows)]))
    return "\n\n".join(blocks)


def glued(columns: tuple[str, ...]) -> set[int]:
    """Columns kept in the group of the column before them: "lfl (paper)" beside "lfl"."""
    return {i for i in range(1, len(columns)) if columns[i].startswith(columns[i - 1] + " (")}


def column_groups(widths: list[int], width: int, keys: int = 1, glue: set[int] = frozenset()) -> list[list[int]]:
    """Column indices in groups, each starting with the `keys` columns that name a row, whose rows
    fit in `width` characters ("| a | b |": 3 per column and 1); a column in `glue` stays with the
    one before it; what is too wide for that is a group of its own."""
    lead = list(range(min(keys, len(widths))))
    lead_width = 1 + sum(widths[i] + 3 for i in lead)
    units: list[list[int]] = []  # columns that go together
    for i in range(len(lead), len(widths)):
        if i in glue and units:
            units[-1].append(i)
        else:
            units.append([i])
    groups: list[list[int]] = []
    group, used = list(lead), lead_width
    for unit in units:
        need = sum(widths[i] + 3 for i in unit)
        if len(group) > len(lead) and used + need > width:
            groups.append(group)
            group, used = list(lead), lead_width
        group += unit
        used += need
    groups.append(group)
    return groups


def heading_cuts(title: str) -> list[tuple[int, str]]:
    """Where a long title may be cut into a heading and a paragraph, in order: before a trailing
    parenthetical (" (...)" that ends the title: the paragraph is its inside), or at ": " or "; "
    outside parentheses (the paragraph is what follows)."""
    cuts, depth = [], 0
    for i, ch in enumerate(title):
        if ch == "(" and title[i - 1:i] == " " and depth == 0 and closing(title, i) == len(title) - 1:
            cuts.append((i - 1, title[i + 1:-1]))
        if ch in ":;" and title[i + 1:i + 2] == " " and depth == 0:
            cuts.append((i, title[i + 2:]))
        depth += (ch == "(") - (ch == ")")
    return cuts


def closing(text: str, start: int) -> int:
    """The index of the ')' that closes the '(' at `start` (-1 if none)."""
    depth = 0
    for i in range(start, len(text)):
        depth += (text[i] == "(") - (text[i] == ")")
        if depth == 0:
            return i
    return -1


def markdown_heading(level: int, title: str, width: int = WIDTH) -> str:
    """A heading that fits `width`: a longer title is cut (heading_cuts) into a heading and a
    wrapped paragraph under it; one that cannot be cut stays whole."""
    import textwrap

    heading = f"{'#' * level} {title}"
    if len(heading) <= width:
        return heading
    for cut, rest in reversed(heading_cuts(title)):  # the longest heading that fits
        if level + 1 + cut <= width:
            return f"{'#' * level} {title[:cut]}\n\n" + textwrap.fill(rest[:1].upper() + rest[1:], width)
    return heading


def markdown_escape(text: str) -> str:
    """A table cell's or header's text: '|' would end the cell, a newline the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    import textwrap

    lines = [markdown_heading(3, table.title), "", markdown_grid(table)]
    if table.notes:
        lines += [""] + [textwrap.fill(f"- {note}", WIDTH, subsequent_indent="  ") for note in table.notes]
    return "\n".join(lines)


def markdown(sections: list[Section], figure_dir: str | None = None) -> str:
    """The report as markdown; figures are linked (PNG) when they were written to `figure_dir`."""
    parts = []
    for section in sections:
        body = [markdown_heading(2, section.title)]
        if section.note:
            body.append(section.note)
        body += [markdown_table(t) for t in section.tables]
        if figure_dir is not None:
            body += [f"![{f.caption}]({figure_dir}/{f.name}.png)\n\n*{f.caption}*" for f in section.figures]
        parts.append("\n\n".join(body))
    return "\n\n".join(parts) + "\n"


# ----- LaTeX (booktabs) -------------------------------------------------------------------------

LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "±": r"$\pm$", "≥": r"$\geq$", "≤": r"$\leq$", "→": r"$\rightarrow$", "×": r"$\times$",
                 "−": "-", "π": r"$\pi$", "φ": r"$\phi$", "α": r"$\alpha$", "—": "---", "–": "--"}


def latex_escape(value: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in value)


def latex_table(table: Table, label_prefix: str = "") -> str:
    def cell(c: Cell) -> str:
        value, uncertainty, count = c.parts()
        if c.text is None and uncertainty.startswith("±"):
            shown = f"${value} \\pm {uncertainty[2:]}$"
        else:
            shown = latex_escape(" ".join(p for p in (value, uncertainty) if p))
        shown = f"\\textbf{{{shown}}}" if c.best and shown else shown
        return f"{shown} {{\\scriptsize {latex_escape(count)}}}" if count else shown

    spec = "l" + "r" * (len(table.columns) - 1)
    lines = [r"\begin{table}[ht]", r"\centering", r"\small", f"\\caption{{{latex_escape(table.title)}}}",
             f"\\label{{tab:{label_prefix}{table.name}}}", # shrink a table wider than the text, never enlarge a narrow one
             r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{" + f"\\begin{{tabular}}{{{spec}}}",
             r"\toprule", " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for i, row in enumerate(table.rows):
        if table.starts_reference(i):
            lines.append(r"\midrule")
        lines.append(" & ".join(cell(c) for c in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}"]
    if table.notes:
        lines.append(r"\par\smallskip{\raggedright\footnotesize " + r" \\ ".join(latex_escape(n) for n in table.notes)
                     + r"\par}")
    lines.append(r"\end{table}")
    return "\n".join(lines)


LATEX_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\usepackage[T1]{fontenc}
\begin{document}
"""


def latex(sections: list[Section]) -> str:
    """A complete, compilable document; each table is a table environment to paste into a paper."""
    body = []
    for section in sections:
        body.append(f"\\section*{{{latex_escape(section.title)}}}")
        if section.note:
            body.append(latex_escape(section.note))
        body += [latex_table(t, f"{section.slug}-") for t in section.tables]
        body.append(r"\clearpage")
    return LATEX_PREAMBLE + "\n\n".join(body) + "\n\\end{document}\n"


# ----- CSV (long format) ------------------------------------------------------------------------

CSV_COLUMNS = ["suite", "profile", "table", "row", "column", "point", "spread", "lower", "upper", "n", "text",
               "best"]


def csv_rows(sections: list[Section]) -> list[dict[str, Any]]:
    """One row per table cell (labels excluded), numbers in their own columns."""
    rows = []
    for section in sections:
        for table in section.tables:
            for row in table.rows:
                label = row[0].plain()
                for column, c in zip(table.columns[1:], row[1:]):
                    rows.append({"suite": section.suite, "profile": section.profile, "table": table.name,
                                 "row": label, "column": column, "point": c.point, "spread": c.spread,
                                 "lower": c.lower, "upper": c.upper, "n": c.n, "text": c.text, "best": c.best})
    return rows


def csv_text(sections: list[Section]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(sections))
    return out.getvalue()

