"""dmls: the ML system built across the executable companion to *Designing Machine Learning Systems*.

The package is organised by system component, not by chapter; each public object's docstring
names the chapter and section that introduces it.

- :mod:`dmls.world` — the simulated marketplace (chapter 1)
- :mod:`dmls.notebook` — plumbing shared by the chapter notebooks (chapter 1)
"""
__version__ = "0.1.0"
