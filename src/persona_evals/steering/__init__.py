"""Steering: the `steer` provider, persona-vector files, hooks, extraction and projection.

Nothing here imports torch at package import; each module imports it where it is needed.
"""
