"""Public search and comparison, vendor scorecards, and what vendors keep current: products, support periods,
disclosure contacts, vulnerability reports with EU CRA reporting clocks."""
