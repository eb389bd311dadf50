"""A plot as a Mermaid flowchart, which GitHub draws inside a ```mermaid block of Markdown:
the same nodes, edges and text as the Graphviz drawing (:mod:`.dot`), one box per layer."""

from __future__ import annotations

from ..plot import DIRECTIONS, Plot, PlotNode, params_text


def text(value: str) -> str:
    """Text for a quoted Mermaid label, which Mermaid reads as HTML: quotes, &, < and > as
    Mermaid's #name; entities (a bare quote would end the label), and # itself as #35;."""
    return (
        value.replace("#", "#35;")
        .replace("&", "#amp;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace('"', "#quot;")
    )


def label(node: PlotNode) -> str:
    lines = [f"<b>{text(node.name)}</b> ({text(node.type)})"]
    if node.inputs is not None:
        lines.append(f"Input shape: {text(node.inputs)}")
    lines.append(f"Output shape: {text(node.outputs)}")
    if node.params is not None:
        lines.append(f"Params: {text(params_text(node.params))}")
    return "<br/>".join(lines)


class _Ids:
    """Mermaid ids are plain words (a layer may be named ``end``, a keyword): n0, n1, ..."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.clusters = 0

    def __call__(self, node_id: str) -> str:
        return self.ids.setdefault(node_id, f"n{len(self.ids)}")


def _node_lines(node: PlotNode, indent: str, ids: _Ids) -> list[str]:
    line = f'{indent}{ids(node.id)}["{label(node)}"]'
    if not node.children:
        return [line]
    # an expanded wrapper: a dashed subgraph of its inner layers headed by its own box, as
    # the Graphviz cluster (a subgraph's title is one line, cut short when wide)
    cluster = f"c{ids.clusters}"
    ids.clusters += 1
    lines = [f'{indent}subgraph {cluster}[" "]', "  " + line]
    for child in node.children:
        lines.extend(_node_lines(child, indent + "  ", ids))
    lines += [f"{indent}end", f"{indent}style {cluster} stroke-dasharray: 5 5"]
    return lines


def render(plot: Plot, direction: str = "TB") -> str:
    """Mermaid source (a .mmd file, or the body of a ```mermaid block)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    ids = _Ids()
    lines = [f"flowchart {direction}"]
    for node in plot.nodes:
        lines.extend(_node_lines(node, "  ", ids))
    lines.extend(f"  {ids(edge.source)} --> {ids(edge.target)}" for edge in plot.edges)
    lines.extend(f"  {ids(a.source)} ~~~ {ids(a.target)}" for a in plot.anchors)  # invisible links
    return "\n".join(lines) + "\n"
