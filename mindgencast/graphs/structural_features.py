"""Structural node and edge features of GenCast's graphs.

GenCast (Price et al., *Nature* 2024, Methods) and GraphCast (Lam et al., *Science* 2023,
Supplement "Encoder"/"Decoder") give every node ``[cos(colatitude), cos(lon), sin(lon)]``
(i.e. ``sin(lat)`` first) and every edge ``[|d|, d_x, d_y, d_z] / max|d|``, where ``d`` is
the sender's position minus the receiver's, both rotated into the receiver's local frame
(receiver moved to longitude 0, then to latitude 0: ``R = R_y(pi/2 - theta) R_z(-phi)``),
and ``max|d|`` is the longest edge of that same edge set. Reference:
``graphcast/model_utils.py`` (``get_graph_spatial_features``,
``get_bipartite_graph_spatial_features`` with ``add_node_latitude``,
``add_node_longitude``, ``add_relative_positions`` and both local-coordinate flags on, as
``_DenoiserArchitecture`` sets them).

Angles are computed in float32 from float32 degrees, and positions/rotations in float64,
as in the reference; the features are returned in float32.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lat_lon_of_positions", "node_features", "edge_features"]


def lat_lon_of_positions(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of unit-sphere points.

    Args:
      xyz: [n, 3] positions (float32 mesh vertices).

    Returns:
      lat: [n] float32 degrees in [-90, 90]; lon: [n] float32 degrees in [0, 360).
    """
    xyz = np.asarray(xyz)
    phi = np.arctan2(xyz[:, 1], xyz[:, 0])
    theta = np.arccos(np.clip(xyz[:, 2], -1.0, 1.0))  # clip: float rounding can leave |z| > 1
    lon = np.mod(np.rad2deg(phi), 360)
    lat = 90 - np.rad2deg(theta)
    return lat.astype(np.float32), lon.astype(np.float32)


def node_features(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Node features ``[cos(colatitude), cos(lon), sin(lon)]``.

    Args:
      lat, lon: [n] degrees.

    Returns:
      [n, 3] float32.
    """
    phi, theta = _spherical_angles(lat, lon)
    return np.stack([np.cos(theta), np.cos(phi), np.sin(phi)], axis=-1).astype(np.float32)


def edge_features(
    sender_lat: np.ndarray,
    sender_lon: np.ndarray,
    receiver_lat: np.ndarray,
    receiver_lon: np.ndarray,
    senders: np.ndarray,
    receivers: np.ndarray,
) -> np.ndarray:
    """Edge features ``[|d|, d_x, d_y, d_z] / max|d|`` in the receiver's local frame.

    Args:
      sender_lat, sender_lon: [num_sender_nodes] degrees.
      receiver_lat, receiver_lon: [num_receiver_nodes] degrees (the same arrays as the
        senders' for a graph within one node set).
      senders, receivers: [num_edges] node indices.

    Returns:
      [num_edges, 4] float32; the first column is in (0, 1], the others in [-1, 1].
    """
    sender_phi, sender_theta = _spherical_angles(sender_lat, sender_lon)
    receiver_phi, receiver_theta = _spherical_angles(receiver_lat, receiver_lon)
    sender_xyz = _unit_vectors(sender_phi, sender_theta)[senders].astype(np.float64)
    receiver_xyz = _unit_vectors(receiver_phi, receiver_theta)[receivers].astype(np.float64)

    # Angles of the receiver's local frame: about z by -phi, then about y by pi/2 - theta.
    azimuth = -receiver_phi.astype(np.float64)[receivers]
    polar = (np.float32(np.pi / 2) - receiver_theta).astype(np.float64)[receivers]
    relative = _rotate_zy(sender_xyz, azimuth, polar) - _rotate_zy(receiver_xyz, azimuth, polar)

    length = np.linalg.norm(relative, axis=-1, keepdims=True)
    max_length = length.max() if length.size else 1.0
    return (np.concatenate([length, relative], axis=-1) / max_length).astype(np.float32)


def _spherical_angles(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi, theta) = (longitude, colatitude) in radians, float32 like the reference."""
    lat32 = np.asarray(lat, dtype=np.float32)
    lon32 = np.asarray(lon, dtype=np.float32)
    return np.deg2rad(lon32), np.deg2rad(np.float32(90.0) - lat32)


def _unit_vectors(phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """[n, 3] xyz of unit vectors, float32 arithmetic like the reference."""
    return np.stack([np.cos(phi) * np.sin(theta), np.sin(phi) * np.sin(theta), np.cos(theta)], axis=-1)


def _rotate_zy(xyz: np.ndarray, azimuth: np.ndarray, polar: np.ndarray) -> np.ndarray:
    """Applies ``R_y(polar) @ R_z(azimuth)`` (extrinsic "zy" Euler angles) to each row.

    Args:
      xyz: [n, 3] float64; azimuth, polar: [n] radians.
    """
    cos_a, sin_a = np.cos(azimuth), np.sin(azimuth)
    cos_p, sin_p = np.cos(polar), np.sin(polar)
    x = cos_a * xyz[:, 0] - sin_a * xyz[:, 1]
    y = sin_a * xyz[:, 0] + cos_a * xyz[:, 1]
    z = xyz[:, 2]
    return np.stack([cos_p * x + sin_p * z, y, -sin_p * x + cos_p * z], axis=-1)
