"""Operation generators and clients; each workload says which checkers apply (layer: workloads)."""
