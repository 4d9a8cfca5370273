"""Benchmarks of the whole pipeline at chosen sizes, side by side with rdflib and a bare Oxigraph server."""
