"""Mitigation: MUD profiles (RFC 8520), flow conformance, botnet detection and nftables containment."""
