"""What the user gives perflab: profile settings, workload, targets, drafts and captures."""
