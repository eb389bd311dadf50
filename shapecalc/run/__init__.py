"""``--run``: execute the graph with the layers' NumPy kernels and check every prediction."""
