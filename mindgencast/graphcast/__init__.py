"""GraphCast (Lam et al., Science 2023): the deterministic model, built from GenCast's parts."""
