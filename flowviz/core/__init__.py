"""Domain-neutral building blocks: service errors, contract formatting, admin form fields.

Imports nothing of FlowViz outside flowviz.core, so every layer may use it.
"""
