"""The network: constants of Table 1, derived constants, parameters and their initialisation."""
