"""Pure analysis of histories: linearizability, RPO, split-brain, SLAs. Imports nothing of the other packages."""
