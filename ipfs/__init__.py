"""IPFS layer: pure UnixFS/CID/CAR code plus storage backends behind one interface."""
