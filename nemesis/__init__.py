"""Faults injected through the Remote interface: partitions, packets, processes, clock, disk (layer: nemesis)."""
