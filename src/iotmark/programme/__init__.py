"""The organisation side: maturity (OWASP SAMM + IoT practices), KPIs, security champions, training and its
follow-through, external validation, threat models, the release gate, and the board report."""
