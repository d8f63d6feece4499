"""Boards: platforms, pin maps, PLLs, vendor I/O PHYs, build and flash.

Each board is one small module that declares a :class:`Board`; ``BOARDS``
lists them by name. ``build()`` (``qnu build``) and ``flash()``
(``qnu flash``) work for any of them with the toolchain from PyPI.
"""

import importlib

__all__ = ["BOARD_MODULES", "get_board", "board_names"]

# name -> module; adding a board is one module and one line here
BOARD_MODULES = {
    "icebreaker": "icebreaker",
    "ulx3s": "ulx3s",
    "orangecrab": "orangecrab",
}


def board_names():
    return list(BOARD_MODULES)


def get_board(name):
    """The Board called ``name``."""
    if name not in BOARD_MODULES:
        raise ValueError(f"unknown board {name!r}; known boards: {', '.join(BOARD_MODULES)}")
    return importlib.import_module(f".{BOARD_MODULES[name]}", __name__).BOARD
