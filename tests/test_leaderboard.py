"""The HTML leaderboard: self-contained, escaped, every cell's data and attributes in place, and
(where Chromium is installed) its script runs, sorts and filters in a real browser."""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
from matplotlib.figure import Figure as MplFigure  # noqa: E402

from benchmark import figures  # noqa: E402
from benchmark.leaderboard import page, png_data_uri, pretty_config  # noqa: E402
from benchmark.tables import Cell, Section, Table, text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1400,4000"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
TITLE = "Scores <b>& friends"
CONFIG = {"method": "lfl", "lr": 0.001, "learner": {"varies": ["spi", "expert"]}}


# ----- a tiny DOM, to check attributes where they are rather than by substring ------------------

@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def iter(self, tag: str | None = None):
        """This node and its descendants (elements only), in document order."""
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter(tag)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# ----- fixtures ---------------------------------------------------------------------------------

def scores_table() -> Table:
    """Three methods x (sequence, expert, aggregate) columns: a best cell, an n/a cell, text with
    markup characters, a config that is not JSON and a row with none."""
    rows = ((text("b-method"), Cell(0.5, spread=0.1, n=10), Cell(0.25, lower=0.2, upper=0.3, n=5), Cell(0.4, n=3)),
            (text("a-method"), Cell(), Cell(text="n/a <1> & more"), Cell(0.1, n=3)),
            (text("c-method"), Cell(0.9, spread=0.05, n=10, best=True),
             Cell(0.75, lower=0.7, upper=0.8, n=5, best=True), Cell(0.8, n=3, best=True)))
    return Table("scores", TITLE, ("method", "spi", "expert", "aggregate"), rows,
                 notes=("cells: mean ± std (n runs).", "[1] n/a: not <applicable>."),
                 column_protocols=("", "sequence", "expert", ""),
                 row_configs=(json.dumps(CONFIG), "not json {", ""))


def plain_table() -> Table:
    return Table("plain", "Plain", ("method", "regret"), ((text("x"), Cell(1e-14, n=2)),))


def small_figure() -> MplFigure:
    fig = MplFigure(figsize=(2, 1.5))
    fig.add_subplot().plot([0, 1, 2], [0, 1, 0])
    return fig


@pytest.fixture(scope="module")
def sections() -> list[Section]:
    grid = Section("gridworld", "full", "Gridworld & co", (scores_table(), plain_table()),
                   figures=(figures.rendered("curve", "A <curve>", small_figure()),), note="note <here>")
    return [grid, Section("mujoco", "quick", "MuJoCo", (plain_table(),)),
            Section("gridworld", "quick", "Gridworld quick", (plain_table(),))]


@pytest.fixture(scope="module")
def html(sections) -> str:
    return page(sections, title="board <&>", subtitle="from records.jsonl, 12 trials")


@pytest.fixture(scope="module")
def dom(html) -> Node:
    return parse(html)


def table_node(dom: Node, index: int = 0) -> Node:
    return list(dom.iter("table"))[index]


# ----- the page as text -------------------------------------------------------------------------

def test_page_is_self_contained(html, dom):
    assert html.startswith("<!DOCTYPE html>")
    links = [v for node in dom.iter() for k, v in node.attrs.items() if k in ("src", "href") and v]
    assert links, "expected the TOC links and the figure"
    assert not [v for v in links if v.startswith(("http:", "https:", "//"))]
    assert not [n for n in dom.iter("script") if "src" in n.attrs]
    assert not list(dom.iter("link"))
    assert "@import" not in html and "url(" not in html


def test_figure_is_an_embedded_png(dom):
    (img,) = list(dom.iter("img"))
    prefix = "data:image/png;base64,"
    assert img.attrs["src"].startswith(prefix)
    assert base64.b64decode(img.attrs["src"][len(prefix):]).startswith(PNG_SIGNATURE)
    (caption,) = list(dom.iter("figcaption"))
    assert caption.text() == "A <curve>"


def test_png_data_uri_round_trips():
    uri = png_data_uri(figures.rendered("curve", "A curve", small_figure()))
    assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG_SIGNATURE)


def test_text_is_escaped(html, dom):
    assert "<b>& friends" not in html and escape(TITLE) in html
    assert [h.text() for h in dom.iter("h3")][0] == TITLE
    assert "<curve>" not in html and "<here>" not in html and "<applicable>" not in html
    assert list(dom.iter("title"))[0].text() == "board <&>"
    assert list(dom.iter("h1"))[0].text() == "board <&>"


def test_every_cell_is_shown(sections, dom):
    table = scores_table()
    rows = list(table_node(dom).iter("tr"))[1:]
    assert len(rows) == len(table.rows)
    for row, node in zip(table.rows, rows):
        tds = list(node.iter("td"))
        for cell, td in zip(row, tds):
            value, uncertainty, count = cell.parts()
            shown = td.text()
            assert value in shown and uncertainty in shown and count in shown
    assert "1.0e-14" in table_node(dom, 1).text()
    notes = table_node(dom).text()
    assert all(n not in notes for n in table.notes), "notes belong under the table, not in it"
    assert all(n in list(dom.iter("ul"))[0].text() for n in table.notes)


def test_best_cells_and_sort_values(dom):
    table = scores_table()
    tds = [list(tr.iter("td")) for tr in list(table_node(dom).iter("tr"))[1:]]
    for row, nodes in zip(table.rows, tds):
        for cell, td in zip(row, nodes):
            assert ("best" in td.classes()) == cell.best
            if cell.is_number:
                assert float(td.attrs["data-value"]) == cell.point
            else:
                assert "data-value" not in td.attrs, "text and n/a cells must sort last, not as numbers"


def test_protocol_attributes_follow_the_columns(dom):
    protocols = list(scores_table().column_protocols)
    table = table_node(dom)
    assert [th.attrs["data-protocol"] for th in table.iter("th")] == protocols
    for tr in list(table.iter("tr"))[1:]:
        assert [td.attrs["data-protocol"] for td in tr.iter("td")] == protocols
    assert [th.attrs["data-protocol"] for th in table_node(dom, 1).iter("th")] == ["", ""]


def test_row_configs_are_pretty_printed(html, dom):
    rows = list(table_node(dom).iter("tr"))[1:]
    pres = [[p.text() for p in tr.iter("pre")] for tr in rows]
    assert pres == [[json.dumps(CONFIG, indent=2)], ["not json {"], []]
    assert pretty_config(json.dumps(CONFIG)) == json.dumps(CONFIG, indent=2)
    first_cells = [next(tr.iter("td")) for tr in rows[:2]]
    assert all(list(td.iter("details")) and list(td.iter("summary"))[0].text() == "config" for td in first_cells)


def test_suite_filter_and_sections(sections, dom):
    (select,) = [s for s in dom.iter("select") if s.attrs.get("id") == "suite-filter"]
    assert [o.attrs["value"] for o in select.iter("option")] == ["all", "gridworld", "mujoco"]
    (protocol,) = [s for s in dom.iter("select") if s.attrs.get("id") == "protocol-filter"]
    assert [o.attrs["value"] for o in protocol.iter("option")] == ["all", "sequence", "expert"]
    nodes = list(dom.iter("section"))
    assert [(n.attrs["id"], n.attrs["data-suite"]) for n in nodes] == [(s.slug, s.suite) for s in sections]
    toc = [a for a in dom.iter("a") if a.attrs.get("href", "").startswith("#")]
    assert [a.attrs["href"] for a in toc] == [f"#{s.slug}" for s in sections]
    ids = [n.attrs["id"] for n in dom.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "ids must be unique (tables of the same name in two sections)"


def test_empty_report_is_a_page():
    dom = parse(page([]))
    assert list(dom.iter("body")) and not list(dom.iter("section"))


# ----- in a real browser ------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")

# Runs after the page's own script: drives the first table and the filters and leaves the outcomes
# on <body> for the dumped DOM.
DRIVE = """<script>
(function () {
  var body = document.body, t = document.querySelector("table.sortable"), head = t.tHead.rows[0].cells;
  function order() {
    return Array.from(t.tBodies[0].rows,
                      function (r) { return r.cells[0].querySelector(".value").textContent; }).join(",");
  }
  head[1].click(); body.dataset.asc = order() + "|" + head[1].getAttribute("aria-sort");
  head[1].click(); body.dataset.desc = order() + "|" + head[1].getAttribute("aria-sort");
  head[0].click(); body.dataset.text = order() + "|" + head[1].hasAttribute("aria-sort");
  var p = document.getElementById("protocol-filter"); p.value = "expert"; p.dispatchEvent(new Event("change"));
  body.dataset.columns = Array.from(head, function (c) { return c.hidden ? "-" : "+"; }).join("")
    + Array.from(t.tBodies[0].rows[0].cells, function (c) { return c.hidden ? "-" : "+"; }).join("");
  var s = document.getElementById("suite-filter"); s.value = "mujoco"; s.dispatchEvent(new Event("change"));
  body.dataset.sections = Array.from(document.querySelectorAll("section, nav li"),
                                     function (x) { return x.hidden ? "-" : "+"; }).join("");
})();
</script></body>"""


def dump_dom(path: Path, tmp_path: Path) -> Node:
    result = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                             path.resolve().as_uri()], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return parse(result.stdout)


@needs_chromium
def test_script_runs_in_chromium(html, tmp_path):
    path = tmp_path / "page.html"
    path.write_text(html)
    (body,) = list(dump_dom(path, tmp_path).iter("body"))
    assert body.attrs.get("data-ready") == "1", "the page's script did not finish"


@needs_chromium
def test_sorting_and_filters_in_chromium(html, tmp_path):
    path = tmp_path / "driven.html"
    path.write_text(html.replace("</body>", DRIVE))
    (body,) = list(dump_dom(path, tmp_path).iter("body"))
    assert body.attrs.get("data-ready") == "1"
    assert body.attrs["data-asc"] == "b-method,c-method,a-method|ascending"  # n/a last
    assert body.attrs["data-desc"] == "c-method,b-method,a-method|descending"  # n/a still last
    assert body.attrs["data-text"] == "a-method,b-method,c-method|false"
    assert body.attrs["data-columns"] == "+-++" * 2  # sequence column hidden in head and body
    assert body.attrs["data-sections"] == "-+-" + "-+-"  # sections, then their TOC entries


@needs_chromium
def test_screenshot_script(html, tmp_path):
    path, png = tmp_path / "page.html", tmp_path / "shot" / "page.png"
    path.write_text(html)
    result = subprocess.run(["bash", str(ROOT / "bench" / "screenshot.sh"), str(path), str(png)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_screenshot_script_fails_without_output(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "bench" / "screenshot.sh"), str(tmp_path / "missing.html"),
                             str(tmp_path / "x.png")], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "missing.html" in result.stderr
    assert not (tmp_path / "x.png").exists()


# ----- reference rows ---------------------------------------------------------------------------

def reference_table() -> Table:
    """Two methods, then the reference rows (the oracle above both, behavioural cloning below)."""
    rows = ((text("b-method"), Cell(0.5, n=3, best=True)), (text("a-method"), Cell(0.2, n=3)),
            (text("oracle (reference)"), Cell(1.0, n=3)), (text("bc (reference)"), Cell(0.1, n=3)))
    return Table("ref", "With reference rows", ("method", "spi"), rows, row_kinds=("", "", "reference", "reference"))


def test_reference_rows_are_set_apart():
    dom = parse(page([Section("gridworld", "quick", "Gridworld", (reference_table(),))]))
    rows = list(table_node(dom).iter("tr"))[1:]
    assert [tr.attrs.get("class") for tr in rows] == [None, None, "reference", "reference"]
    with pytest.raises(ValueError, match="row_kinds"):
        Table("t", "t", ("method",), ((text("x"),),), row_kinds=("", "reference"))


SORT_REFERENCE = """<script>
(function () {
  var t = document.querySelector("table.sortable"), head = t.tHead.rows[0].cells;
  function order() {
    return Array.from(t.tBodies[0].rows,
                      function (r) { return r.cells[0].querySelector(".value").textContent; }).join(",");
  }
  head[1].click(); document.body.dataset.asc = order();
  head[1].click(); document.body.dataset.desc = order();
})();
</script></body>"""


@needs_chromium
def test_sorting_keeps_reference_rows_below_the_methods_in_chromium(tmp_path):
    path = tmp_path / "reference.html"
    html = page([Section("gridworld", "quick", "Gridworld", (reference_table(),))])
    path.write_text(html.replace("</body>", SORT_REFERENCE))
    (body,) = list(dump_dom(path, tmp_path).iter("body"))
    assert body.attrs["data-asc"] == "a-method,b-method,oracle (reference),bc (reference)"
    assert body.attrs["data-desc"] == "b-method,a-method,oracle (reference),bc (reference)"
