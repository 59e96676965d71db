"""The HALP accelerator in Amaranth 0.5: the blocks of ``docs/datapath.md``, composed upward."""

from .coefficient import StepCoefficient
from .lane import MaccLane
from .prng import Xorshift32
from .rounder import StochasticRounder
from .sigmoid import SigmoidUnit
from .vector import VectorUnit

__all__ = ["StochasticRounder", "Xorshift32", "MaccLane", "VectorUnit", "StepCoefficient",
           "SigmoidUnit"]
