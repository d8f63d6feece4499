"""The one exception family: every error a user of QNU can meet on purpose (a
node, a board build, a flash, the toolchain, the virtual board's harness)
derives from :class:`QnuError`, so ``except QnuError`` catches them all and
the command line reports them all the same way."""

__all__ = ["QnuError"]


class QnuError(Exception):
    """Base of every error QNU raises on purpose.

    ``partial`` holds the TagBlocks received before the error when it
    interrupted a recording (None otherwise), so no tag is lost with it.
    """
    partial = None
