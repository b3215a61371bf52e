"""Small graph builders shared by the tests (hand-built, in the documented format)."""
import networkx as nx


def op_graph(op, n_operands, **params):
    """Inputs a0..a{n-1} feeding one node 'out' of ``op`` (positions in order)."""
    g = nx.DiGraph()
    for i in range(n_operands):
        g.add_node(f"a{i}", op="input")
    g.add_node("out", op=op, **params)
    for i in range(n_operands):
        g.add_edge(f"a{i}", "out", arg=i)
    return g


def chain(depth, op="tanh"):
    """x -> op -> op -> ... (``depth`` op nodes), output 'n{depth}'."""
    g = nx.DiGraph()
    g.add_node("x", op="input")
    prev = "x"
    for i in range(1, depth + 1):
        g.add_node(f"n{i}", op=op)
        g.add_edge(prev, f"n{i}", arg=0)
        prev = f"n{i}"
    return g
