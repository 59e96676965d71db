"""Mutation testing of the core: how much of the netlist the verification regression watches.

:mod:`.netlist` (Yosys's ``mutate`` pass on the synthesized core, all mutations in one netlist),
:mod:`.campaign` (the regression once per mutant), :mod:`.equivalence` (a formal miter for each
survivor) and :mod:`.report` (``mutation.json``, ``.csv``, ``.md``); ``halp-hw mutate`` runs
them.
"""
