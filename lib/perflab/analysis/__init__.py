"""What the plans and timings mean: findings, diagnostics, index use and advice."""
