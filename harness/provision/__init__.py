"""Backends that end in a list of SSH-reachable hosts: docker, netns, ssh (layer: harness)."""
