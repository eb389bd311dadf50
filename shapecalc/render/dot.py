"""A plot as Graphviz source, styled as Keras's model_to_dot styles it: each layer a table
with its name and class on black, its shapes on white (keras/src/utils/model_visualization.py,
make_layer_label), thick edges, right-angled lines; an expanded wrapper (``--expand``) as a
dashed cluster of its inner layers, as Keras draws an expanded nested model."""

from __future__ import annotations

from ..plot import DIRECTIONS, Plot, PlotEdge, PlotNode, params_text


def html(text: str) -> str:
    """Text for an HTML-like label: Graphviz parses it as XML, so &, <, > and quotes are
    entities; a backslash too, which Graphviz would drop before a tag."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\\", "&#92;")
    )


def quoted(text: str) -> str:
    """A DOT quoted string: only the double quote is escaped there; a backslash is doubled so that
    one ending the text does not escape the closing quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cell(text: str, value: str) -> str:
    return f'<td bgcolor="white"><font point-size="14">{html(text)}: <b>{html(value)}</b></font></td>'


def label(node: PlotNode) -> str:
    """Keras's make_layer_label with show_shapes and show_layer_names, plus the parameters."""
    cells = []
    if node.inputs is not None:  # Keras shows an InputLayer's output shape alone
        cells.append(_cell("Input shape", node.inputs))
    cells.append(_cell("Output shape", node.outputs))
    if node.params is not None:
        cells.append(_cell("Params", params_text(node.params)))
    return (
        '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
        f'<tr><td colspan="{len(cells)}" bgcolor="black"><font point-size="16" color="white">'
        f"<b>{html(node.name)}</b> ({html(node.type)})</font></td></tr>"
        f"<tr>{''.join(cells)}</tr></table>>"
    )


def _node_lines(node: PlotNode, indent: str, clusters: list[int]) -> list[str]:
    line = f"{indent}{quoted(node.id)} [label={label(node)}];"
    if not node.children:
        return [line]
    # Keras's expanded nested model: pydot.Cluster(style="dashed", label=name, labeljust="l");
    # here the wrapper's own box heads the cluster, so its merged output and total stay in view
    clusters[0] += 1
    lines = [
        f"{indent}subgraph {quoted(f'cluster_{clusters[0]}')} {{",
        f"{indent}  style=dashed;",
        "  " + line,
    ]
    for child in node.children:
        lines.extend(_node_lines(child, indent + "  ", clusters))
    lines.append(f"{indent}}}")
    return lines


def _edge(edge: PlotEdge) -> str:
    return f"  {quoted(edge.source)} -> {quoted(edge.target)};"


def render(plot: Plot, direction: str = "TB") -> str:
    """Graphviz DOT source; ``direction`` is Keras's rankdir, TB (top to bottom) or LR."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    lines = [
        f"digraph {quoted(plot.name)} {{",
        # model_to_dot's graph settings but its dpi=200, which would scale an SVG 2.8 times
        # over: the command gives dot -Gdpi=200 for PNG only
        f"  graph [rankdir={direction}, concentrate=true, splines=ortho];",
        "  node [shape=record, fontname=Helvetica, margin=0];",
        "  edge [penwidth=2];",
    ]
    counter = [0]
    for node in plot.nodes:
        lines.extend(_node_lines(node, "  ", counter))
    lines.extend(_edge(edge) for edge in plot.edges)
    lines.extend(f"  {quoted(a.source)} -> {quoted(a.target)} [style=invis];" for a in plot.anchors)
    lines.append("}")
    return "\n".join(lines) + "\n"
