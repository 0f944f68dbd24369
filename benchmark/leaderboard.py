"""The report as one self-contained HTML page: the leaderboard.

page() turns the report's Sections (benchmark/tables.py) into a static HTML5 document with inline
CSS and JS only and every figure embedded as a base64 PNG, so the file can be mailed, archived or
served as is, with no network. The page has a table of contents, a suite filter (hides sections),
a protocol filter (hides the columns of the other observation protocol), sortable tables and each
row's resolved config behind a <details>. Reference rows (the oracle, behavioural cloning) are set
apart under a rule, muted, and stay below the methods when a table is sorted. Only the standard library is used.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

from benchmark.tables import Cell, Figure, Section, Table

PROTOCOLS = (("all", "all protocols"), ("sequence", "learner sequences"), ("expert", "expert demonstrations"))

CSS = """
:root {
  --ink: #1f2328; --muted: #6b7280; --faint: #9ca3af; --rule: #1f2328; --hair: #d8dbe0;
  --accent: #1d4ed8; --paper: #ffffff; --wash: #f6f7f9;
}
* { box-sizing: border-box; }
html { background: var(--paper); }
body {
  margin: 0 auto; max-width: 1200px; padding: 0 32px 48px; color: var(--ink); background: var(--paper);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
        "Liberation Sans", sans-serif;
  -webkit-font-smoothing: antialiased;
}
header.page { padding: 36px 0 18px; border-bottom: 2px solid var(--rule); margin-bottom: 24px; }
header.page h1 { margin: 0; font-size: 28px; font-weight: 650; letter-spacing: -0.01em; }
header.page .subtitle { margin: 4px 0 0; color: var(--muted); font-size: 14px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 24px; margin-top: 18px; font-size: 13px; }
.controls label { display: inline-flex; align-items: center; gap: 8px; color: var(--muted); }
.controls select {
  font: inherit; color: var(--ink); padding: 4px 8px; border: 1px solid var(--hair); border-radius: 4px;
  background: var(--paper);
}
nav.toc { margin: 0 0 32px; font-size: 14px; }
nav.toc h2 { margin: 0 0 6px; font-size: 12px; font-weight: 600; text-transform: uppercase;
  letter-spacing: 0.08em; color: var(--muted); border: 0; padding: 0; }
nav.toc ol { margin: 0; padding-left: 22px; }
nav.toc li { margin: 2px 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
section.report { margin: 0 0 48px; scroll-margin-top: 16px; }
section.report > h2 { margin: 0 0 2px; font-size: 21px; font-weight: 650; padding-bottom: 6px;
  border-bottom: 1px solid var(--hair); }
section.report > .meta { margin: 6px 0 0; color: var(--muted); font-size: 13px; }
section.report > .note { margin: 8px 0 0; font-size: 14px; }
.block { margin: 28px 0 0; }
.block h3 { margin: 0 0 8px; font-size: 15px; font-weight: 600; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums;
  border-top: 2px solid var(--rule); border-bottom: 2px solid var(--rule); }
thead th { border-bottom: 1px solid var(--rule); font-weight: 600; white-space: nowrap; cursor: pointer;
  user-select: none; vertical-align: bottom; }
thead th:hover, thead th:focus-visible { background: var(--wash); outline: none; }
thead th::after { content: "\\2195"; display: inline-block; width: 1em; margin-left: 3px; color: transparent;
  font-size: 11px; text-align: center; }
thead th:hover::after { color: var(--faint); }
thead th[aria-sort="ascending"]::after { content: "\\25B2"; color: var(--accent); }
thead th[aria-sort="descending"]::after { content: "\\25BC"; color: var(--accent); }
th, td { padding: 5px 12px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; padding-left: 4px; }
th:last-child, td:last-child { padding-right: 4px; }
td { white-space: nowrap; }
tbody tr + tr td { border-top: 1px solid #eef0f3; }
tbody tr:hover td { background: var(--wash); }
td.best .value { font-weight: 700; }
td .extra { display: block; color: var(--muted); font-size: 11px; line-height: 1.3; }
td.na .value { color: var(--faint); }
tbody tr.reference td { color: var(--muted); font-style: italic; }
tbody tr:not(.reference) + tr.reference td { border-top: 1px solid var(--rule); }
td details { margin-top: 2px; font-size: 12px; }
td details summary { color: var(--muted); cursor: pointer; list-style-position: inside; }
td details summary:hover { color: var(--accent); }
td details pre {
  margin: 4px 0 2px; padding: 8px 10px; max-width: 460px; max-height: 320px; overflow: auto;
  background: var(--wash); border: 1px solid var(--hair); border-radius: 4px;
  font: 11.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  white-space: pre; text-align: left;
}
.notes { margin: 6px 0 0; padding: 0; list-style: none; color: var(--muted); font-size: 12px; }
.notes li { margin: 1px 0; }
figure { margin: 28px 0 0; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { margin-top: 6px; color: var(--muted); font-size: 13px; }
footer { margin-top: 48px; padding-top: 10px; border-top: 1px solid var(--hair); color: var(--faint);
  font-size: 12px; }
[hidden] { display: none !important; }
"""

# Sorting, the two filters, and the ready flag (body[data-ready="1"]) that the browser test looks for.
JS = """
(function () {
  "use strict";

  function sortKey(cell) {
    var v = cell && cell.getAttribute("data-value");
    return v === null || v === undefined || v === "" ? null : parseFloat(v);
  }

  function sortText(cell) {
    var shown = cell && (cell.querySelector(".value") || cell);  // not the config behind <details>
    return shown ? shown.textContent.trim() : "";
  }

  function sortTable(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var numeric = rows.some(function (r) { return sortKey(r.cells[index]) !== null; });
    var sign = ascending ? 1 : -1;
    var references = rows.filter(function (r) { return r.classList.contains("reference"); });
    rows = rows.filter(function (r) { return !r.classList.contains("reference"); });  // sorted: the methods
    rows.sort(function (a, b) {
      if (numeric) {
        var x = sortKey(a.cells[index]), y = sortKey(b.cells[index]);
        if (x === null || y === null) { return (x === null) - (y === null); }  // no value: last
        return sign * (x - y);
      }
      return sign * sortText(a.cells[index]).localeCompare(sortText(b.cells[index]), undefined,
                                                            {numeric: true, sensitivity: "base"});
    });
    rows.concat(references).forEach(function (r) { body.appendChild(r); });  // reference rows stay last
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function applyFilters() {
    var suite = document.getElementById("suite-filter").value;
    var protocol = document.getElementById("protocol-filter").value;
    document.querySelectorAll("[data-suite]").forEach(function (el) {
      el.hidden = suite !== "all" && el.getAttribute("data-suite") !== suite;
    });
    document.querySelectorAll("th[data-protocol], td[data-protocol]").forEach(function (el) {
      var p = el.getAttribute("data-protocol");
      el.hidden = protocol !== "all" && p !== "" && p !== protocol;
    });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortTable(table, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, th); }
      });
    });
  });
  ["suite-filter", "protocol-filter"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", applyFilters);
  });
  applyFilters();
  document.body.dataset.ready = "1";
})();
"""


def attr(value: Any) -> str:
    """A value escaped for a double-quoted HTML attribute."""
    return escape(str(value), quote=True)


def png_data_uri(figure: Figure) -> str:
    """A figure as a data: URI of its PNG (the one written to figures/), so the page needs no files."""
    return "data:image/png;base64," + base64.b64encode(figure.png).decode("ascii")


def pretty_config(config: str) -> str:
    """The config's JSON text indented for reading; text that is not JSON is shown as it is."""
    try:
        return json.dumps(json.loads(config), indent=2)
    except ValueError:
        return config


def column_protocol(table: Table, column: int) -> str:
    """The column's protocol ("" when the table gives none), the key of the protocol filter."""
    return table.column_protocols[column] if table.column_protocols else ""


def cell_html(cell: Cell, protocol: str, config: str = "") -> str:
    """One <td>: the value (bold when best), its uncertainty and count muted, the data-value the
    sort uses, the column's data-protocol the filter uses, and the row's config when given."""
    value, uncertainty, count = cell.parts()
    classes = [name for name, on in (("num", cell.is_number), ("best", cell.best),
                                     ("na", cell.text is None and not cell.is_number)) if on]
    attrs = f' data-protocol="{attr(protocol)}"'
    if cell.is_number:
        attrs += f' data-value="{attr(repr(float(cell.point)))}"'
    if classes:
        attrs += f' class="{" ".join(classes)}"'
    extra = " ".join(p for p in (uncertainty, count) if p)
    body = f'<span class="value">{escape(value)}</span>'
    if extra:
        body += f'<span class="extra">{escape(extra)}</span>'
    if config:
        body += f"<details><summary>config</summary><pre>{escape(pretty_config(config))}</pre></details>"
    return f"<td{attrs}>{body}</td>"


def table_html(table: Table, anchor: str) -> str:
    """A sortable <table> with its h3 title and its notes; `anchor` is its page-unique id."""
    head = "".join(f'<th scope="col" data-protocol="{attr(column_protocol(table, j))}">{escape(name)}</th>'
                   for j, name in enumerate(table.columns))
    rows = []
    for i, row in enumerate(table.rows):
        config = table.row_configs[i] if table.row_configs else ""
        cells = "".join(cell_html(c, column_protocol(table, j), config if j == 0 else "") for j, c in enumerate(row))
        kind = table.row_kind(i)
        rows.append(f'<tr class="{attr(kind)}">{cells}</tr>' if kind else f"<tr>{cells}</tr>")
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.notes)
    return (f'<div class="block" id="{attr(anchor)}"><h3>{escape(table.title)}</h3>'
            f'<div class="table-wrap"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>'
            + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</div>")


def figure_html(figure: Figure) -> str:
    """A <figure> with the PNG embedded and its caption."""
    caption = escape(figure.caption)
    return (f'<figure><img src="{png_data_uri(figure)}" alt="{attr(figure.caption)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def section_html(section: Section) -> str:
    """One suite at one profile: title, note, tables, then figures."""
    meta = f"suite <b>{escape(section.suite)}</b> &middot; profile <b>{escape(section.profile)}</b>"
    parts = [f"<h2>{escape(section.title)}</h2>", f'<p class="meta">{meta}</p>']
    if section.note:
        parts.append(f'<p class="note">{escape(section.note)}</p>')
    parts += [table_html(t, f"{section.slug}-{t.name}") for t in section.tables]
    parts += [figure_html(f) for f in section.figures]
    return (f'<section class="report" id="{attr(section.slug)}" data-suite="{attr(section.suite)}">'
            + "\n".join(parts) + "</section>")


def toc_html(sections: list[Section]) -> str:
    """Links to every section; each entry carries its suite so the suite filter hides it too."""
    items = "".join(f'<li data-suite="{attr(s.suite)}"><a href="#{attr(s.slug)}">{escape(s.title)}</a></li>'
                    for s in sections)
    return f'<nav class="toc"><h2>Contents</h2><ol>{items}</ol></nav>'


def options_html(options: list[tuple[str, str]]) -> str:
    return "".join(f'<option value="{attr(value)}">{escape(label)}</option>' for value, label in options)


def header_html(title: str, subtitle: str, suites: list[str]) -> str:
    """Title, subtitle and the two filter controls."""
    suite_options = [("all", "all suites")] + [(s, s) for s in suites]
    return (f'<header class="page"><h1>{escape(title)}</h1>'
            + (f'<p class="subtitle">{escape(subtitle)}</p>' if subtitle else "")
            + '<div class="controls">'
            f'<label>Suite <select id="suite-filter">{options_html(suite_options)}</select></label>'
            f'<label>Protocol <select id="protocol-filter">{options_html(list(PROTOCOLS))}</select></label>'
            "</div></header>")


def made_by() -> str:
    """'at commit abc1234567 on 2026-12-06 (UTC)': the code and the day that made the page."""
    import datetime as dt
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    return f"at commit {commit[:10] or 'unknown'} on {day} (UTC)"


def page(sections: list[Section], *, title: str = "irlbench leaderboard", subtitle: str = "") -> str:
    """The complete, self-contained HTML5 document for the report's sections."""
    suites = list(dict.fromkeys(s.suite for s in sections))
    subtitle = " ".join(x for x in (subtitle, f"Made {made_by()}; each section names its profile, each table its "
                                              "seeds and its records' commit and dates.") if x)
    body = "\n".join([header_html(title, subtitle, suites), toc_html(sections)]
                     + [section_html(s) for s in sections])
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
            f"<footer>{escape(title)} &middot; generated by irlbench {escape(made_by())}</footer>\n"
            f"<script>{JS}</script>\n</body>\n</html>\n")
