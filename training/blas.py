"""The trainer's name for model.blas, where the BLAS thread variables are written once (the
service reads them too, and may import only model/)."""

from model.blas import THREAD_VARIABLES, blas_threads, set_default_threads

__all__ = ["THREAD_VARIABLES", "blas_threads", "set_default_threads"]
