"""The built-in synthetic world: ERA5-format data with a known law and an exact oracle.

``SyntheticWorld(task_config, grid, seed)`` generates WeatherBench2-layout
datasets (``generate``, ``write``), gives their analytic normalisation
statistics (``climatology_moments``, ``write_stats``) and draws the ideal
ensemble from the exact conditional law of the future (``sample_future``).
See docs/synthetic_world.md.
"""

from mindgencast.data.synthetic.config import SyntheticWorldConfig, world_variables
from mindgencast.data.synthetic.moments import ClimatologyMoments
from mindgencast.data.synthetic.world import SyntheticWorld

__all__ = ["SyntheticWorld", "SyntheticWorldConfig", "ClimatologyMoments", "world_variables"]
