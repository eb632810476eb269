"""Explanations: what a counterexample means, as data (anomalies) and as prose."""
