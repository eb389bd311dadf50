"""Vectorised NumPy building blocks shared by the layers' forward kernels."""
