"""Evidence collectors: each turns one source (declaration, SBOM, firmware, network) into Findings."""
