"""DOM helpers shared by the list and notice extractors (selectolax's Lexbor parser)."""

from __future__ import annotations

import re

from selectolax.lexbor import (
    LexborHTMLParser as LexborHTMLParser,  # the parser's type, for extract's signatures
)
from selectolax.lexbor import LexborNode

from ..errors import ExtractError
from ..normalize import clean_space

Node = LexborNode

# Never content: removed before anything is read.
INVISIBLE = "script, style, noscript, select, iframe, template, svg, object, embed, input, textarea, button"
# Page furniture by tag, and by a class or id token (token-bounded so "inside" does not match "side").
FURNITURE_TAGS = "nav, header, footer"
_FURNITURE = re.compile(
    r"(?:^|[-_\s])(nav|navbar|menu|header|footer|foot|crumbs?|breadcrumb|bread|share|print|toolbar|"
    r"sidebar|side|banner|copyright|login|search|position|location|weizhi|dqwz|friendlink|links|"
    r"fontsize|font|zoom-size|ads?|advert)(?:$|[-_\s\d])",
    re.I,
)
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "tbody",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "blockquote",
        "pre",
        "center",
        "hr",
        "form",
        "main",
        "aside",
        "figure",
        "figcaption",
        "caption",
    ]
)


def parse(text: str) -> LexborHTMLParser:
    """Parse a page; one whose block elements nest deeper than any real page's is refused first: the
    parser's time grows with the square of that depth (100,000 nested <div>s took 23 s), in C, where no
    budget can stop it."""
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise ExtractError(f"page too complex: elements nested {depth} deep (at most {MAX_NESTING} are read)")
    return LexborHTMLParser(text)


MAX_NESTING = 3000  # parsing 3,000 nested <div>s costs ~10 ms; real pages nest a few dozen deep
_NESTING_TAGS = ("div", "ul", "ol", "dl", "table", "section", "article", "aside", "nav", "header", "footer",
                 "main", "blockquote", "form", "fieldset", "center", "details", "figure", "dir", "menu")  # fmt: skip
_NESTING = re.compile(r"<(/?)(?:" + "|".join(_NESTING_TAGS) + r")[\s>/]", re.I)


def _nesting(text: str) -> int:
    """The deepest the block containers nest, read off the tags; cheap for pages too small to nest deep."""
    if text.count("<") <= MAX_NESTING:  # the common case: too few tags to nest that deep, no scan
        return 0
    depth = deepest = 0
    for m in _NESTING.finditer(text):
        depth = max(0, depth - 1) if m.group(1) else depth + 1
        deepest = max(deepest, depth)
    return deepest


def remove(tree: LexborHTMLParser | Node, selector: str) -> None:
    decompose_all(tree.css(selector))


def decompose_all(nodes: list[Node]) -> None:
    """Remove nodes, outermost first; a node inside one already removed is never touched again."""
    doomed = {node.mem_id for node in nodes}
    outermost = []
    for node in nodes:  # decide everything before freeing anything: a freed node's children are gone
        parent = node.parent
        while parent is not None and parent.mem_id not in doomed:
            parent = parent.parent
        if parent is None:
            outermost.append(node)
    for node in outermost:
        node.decompose()


def is_furniture(node: Node) -> bool:
    attrs = node.attributes
    marker = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return bool(marker.strip()) and bool(_FURNITURE.search(marker))


def furniture(root: Node) -> list[Node]:
    """Nodes that look like page furniture by their tag or a class or id token: a hint that lowers a
    region's score when the list and the body are chosen, never a reason to delete either (a main column
    named side-right-column is still read)."""
    marked = root.css(FURNITURE_TAGS) + [n for n in root.css("[class], [id]") if is_furniture(n)]
    return [n for n in marked if n.tag not in ("html", "body")]


def strip_furniture(marked: list[Node], keep: Node | None) -> None:
    """Once the body is chosen: drop the furniture (share bars, ad boxes, footers) but the body's own
    ancestors, so neither its text nor its attachments pick any up."""
    chain = set()
    while keep is not None:
        chain.add(keep.mem_id)
        keep = keep.parent
    decompose_all([n for n in marked if n.mem_id not in chain])


def contains(outer: Node, node: Node | None) -> bool:
    """Is `node` outer itself or below it?"""
    return inside(node, {outer.mem_id})


def inside(node: Node | None, marked: set[int]) -> bool:
    """Is `node`, or one of its ancestors, among the `marked` nodes?"""
    while node is not None:
        if node.mem_id in marked:
            return True
        node = node.parent
    return False


def node_text(node: Node) -> str:
    return clean_space(node.text(deep=True, separator="", strip=False))


def block_lines(node: Node) -> list[str]:
    """Visible text of `node`, one line per block element (p, div, li, br …)."""
    parts: list[str] = []
    for child in node.traverse(include_text=True):
        tag = child.tag
        if tag == "-text":
            parts.append(child.text_content or "")
        elif tag in BLOCK_TAGS:
            parts.append("\n")
        elif tag in ("td", "th"):
            parts.append(" ")
    return clean_space("".join(parts)).split("\n")
