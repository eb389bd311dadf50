"""Renderers: an Analysis in, text out. They know nothing of layer rules."""
