"""Node-to-node time synchronization: the peer link, its timestamps and the servo (docs/sync.md)."""

from .peer_link import PeerTx, PeerRx, MESSAGE, RECEIVED

__all__ = ["PeerTx", "PeerRx", "MESSAGE", "RECEIVED"]
