"""Toy diffusion problems: exact Gaussian mixtures, sample distances, a small trained MindSpore denoiser."""
