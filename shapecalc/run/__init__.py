"""``--run``: execute the graph with the layers' NumPy kernels and check every prediction.

Importing this package sets OpenBLAS's idle-thread policy (threads.py) before NumPy loads
OpenBLAS: the run's modules import NumPy only after it.
"""

from .threads import quiet_idle_blas_threads

quiet_idle_blas_threads()
