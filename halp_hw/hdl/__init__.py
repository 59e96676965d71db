"""The HALP accelerator in Amaranth 0.5: the blocks of ``docs/datapath.md``, composed upward."""

from .coefficient import StepCoefficient
from .faults import FAULTS, check_fault
from .lane import MaccLane
from .prng import Xorshift32
from .rounder import StochasticRounder
from .sigmoid import SigmoidUnit
from .vector import VectorUnit

__all__ = ["FAULTS", "check_fault", "StochasticRounder", "Xorshift32", "MaccLane", "VectorUnit",
           "StepCoefficient", "SigmoidUnit"]
