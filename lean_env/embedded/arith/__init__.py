"""Arithmetic decision procedures of the embedded kernel (normal forms and z3 encoders)."""
