"""Catalogue of the ERA5 / WeatherBench2 variables mindgencast knows.

Metadata only (units, CF names, CDS short names, whether a variable lives on
pressure levels); which variables a model uses is always a TaskConfig's choice.
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "VariableInfo",
    "VARIABLES",
    "variable_info",
    "is_atmospheric",
    "CDS_SHORT_NAMES",
]


@dataclasses.dataclass(frozen=True)
class VariableInfo:
    """CF-style metadata of one variable.

    Attributes:
      name: WeatherBench2 name, e.g. ``"2m_temperature"``.
      units: UDUNITS string.
      long_name: human-readable name.
      standard_name: CF standard name, or ``None`` where none exists.
      atmospheric: True if the variable has a pressure ``level`` dimension.
      kind: ``"state"`` (predicted and fed back), ``"static"`` (time invariant)
        or ``"forcing"`` (computed from the valid time).
    """

    name: str
    units: str
    long_name: str
    standard_name: str | None
    atmospheric: bool = False
    kind: str = "state"


_CATALOGUE = (
    VariableInfo("2m_temperature", "K", "2 metre temperature", "air_temperature"),
    VariableInfo("mean_sea_level_pressure", "Pa", "Mean sea level pressure", "air_pressure_at_mean_sea_level"),
    VariableInfo("10m_u_component_of_wind", "m s-1", "10 metre U wind component", "eastward_wind"),
    VariableInfo("10m_v_component_of_wind", "m s-1", "10 metre V wind component", "northward_wind"),
    VariableInfo("total_precipitation_12hr", "m", "Total precipitation accumulated over 12 hours",
                 "lwe_thickness_of_precipitation_amount"),
    VariableInfo("total_precipitation_6hr", "m", "Total precipitation accumulated over 6 hours",
                 "lwe_thickness_of_precipitation_amount"),
    VariableInfo("total_precipitation", "m", "Total precipitation (hourly)", "lwe_thickness_of_precipitation_amount"),
    VariableInfo("sea_surface_temperature", "K", "Sea surface temperature", "sea_surface_temperature"),
    VariableInfo("temperature", "K", "Temperature", "air_temperature", atmospheric=True),
    VariableInfo("geopotential", "m2 s-2", "Geopotential", "geopotential", atmospheric=True),
    VariableInfo("u_component_of_wind", "m s-1", "U component of wind", "eastward_wind", atmospheric=True),
    VariableInfo("v_component_of_wind", "m s-1", "V component of wind", "northward_wind", atmospheric=True),
    VariableInfo("vertical_velocity", "Pa s-1", "Vertical velocity", "lagrangian_tendency_of_air_pressure",
                 atmospheric=True),
    VariableInfo("specific_humidity", "kg kg-1", "Specific humidity", "specific_humidity", atmospheric=True),
    VariableInfo("geopotential_at_surface", "m2 s-2", "Geopotential at the surface", "surface_geopotential",
                 kind="static"),
    VariableInfo("land_sea_mask", "1", "Land-sea mask (land fraction)", "land_area_fraction", kind="static"),
    VariableInfo("year_progress_sin", "1", "Sine of the fraction of the year elapsed", None, kind="forcing"),
    VariableInfo("year_progress_cos", "1", "Cosine of the fraction of the year elapsed", None, kind="forcing"),
    VariableInfo("day_progress_sin", "1", "Sine of the local fraction of the day elapsed", None, kind="forcing"),
    VariableInfo("day_progress_cos", "1", "Cosine of the local fraction of the day elapsed", None, kind="forcing"),
    VariableInfo("toa_incident_solar_radiation", "J m-2", "TOA incident solar radiation",
                 "toa_incoming_shortwave_flux", kind="forcing"),
)

VARIABLES: dict[str, VariableInfo] = {v.name: v for v in _CATALOGUE}

# Copernicus CDS short names -> WeatherBench2 names. ``z`` on pressure levels is
# geopotential; ``z`` without a level dimension is geopotential_at_surface.
CDS_SHORT_NAMES: dict[str, str] = {
    "t": "temperature",
    "z": "geopotential",
    "u": "u_component_of_wind",
    "v": "v_component_of_wind",
    "w": "vertical_velocity",
    "q": "specific_humidity",
    "t2m": "2m_temperature",
    "2t": "2m_temperature",
    "msl": "mean_sea_level_pressure",
    "u10": "10m_u_component_of_wind",
    "10u": "10m_u_component_of_wind",
    "v10": "10m_v_component_of_wind",
    "10v": "10m_v_component_of_wind",
    "sst": "sea_surface_temperature",
    "tp": "total_precipitation",
    "lsm": "land_sea_mask",
}


def variable_info(name: str) -> VariableInfo:
    """Metadata of ``name``; raises KeyError naming the known variables."""
    try:
        return VARIABLES[name]
    except KeyError:
        raise KeyError(
            f"unknown variable {name!r}; mindgencast knows: {', '.join(sorted(VARIABLES))}"
        ) from None


def is_atmospheric(name: str) -> bool:
    """True if ``name`` lives on pressure levels (has a ``level`` dimension)."""
    return variable_info(name).atmospheric
