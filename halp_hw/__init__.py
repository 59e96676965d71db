"""halp-hw: HALP (bit-centered low-precision SVRG) as verified hardware."""

__version__ = "0.1.0"
