"""How long OpenBLAS's idle worker threads spin before they sleep, while a model runs.

After each multi-threaded call OpenBLAS's workers spin, waiting for the next one, for 2**28
loop iterations by default: about a tenth of a second. --run's kernels also run work in their
own lanes (kernels/conv_lanes.py: blocks of a convolution, each with a single-threaded BLAS;
elementwise chunks), and a worker spinning after the previous layer's product takes a core from
them: measured with benchmarks/speed.py on 2 cores, the VGG workload ran in 130-135 ms with
the default and in 102-106 ms with 2**22 iterations, and ResNet50 about 10% faster. Shorter
spins cost the recurrent layers, whose steps are small products in quick succession that find
the workers asleep: at 2**16 the LSTM workload went from 14.5 to 18.6 ms, at 2**20 and 2**22
it kept its 14.5 ms. So 2**22.

OpenBLAS reads OPENBLAS_THREAD_TIMEOUT (the exponent) once, when it is loaded with NumPy: this
takes effect only where NumPy is not imported yet (the command line's --run), and a value the
user set is kept.
"""

from __future__ import annotations

import os
import sys

SPIN_EXPONENT = 22


def quiet_idle_blas_threads() -> bool:
    """Set the spin before NumPy loads OpenBLAS; True when it will take effect."""
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", str(SPIN_EXPONENT))
    return True
