"""Assessment: findings + declaration -> provision verdicts, levels, certificates and labels."""
