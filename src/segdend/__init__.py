"""segdend: the segregated-dendrites deep-learning model of Guerguiev, Lillicrap & Richards (2017).

The specification is the paper's fact sheet (``PAPER.md``); equation numbers in docstrings
refer to the eLife version of record.
"""

__version__ = "0.1.0"
