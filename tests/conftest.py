"""Test set-up shared by every test module: the oracle's Keras runs on the numpy backend
unless KERAS_BACKEND says otherwise (set before any module imports keras)."""

import os

os.environ.setdefault("KERAS_BACKEND", "numpy")
