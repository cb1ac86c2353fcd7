"""Targets, training, metrics, the MLflow registry and prediction jobs.

LightGBM's OpenMP threads spin while they wait for work by default: on a shared machine
(other processes, or several training threads on 2 cores) the spinning threads take the
CPU from the working ones and a fit takes several times longer. Passive threads sleep
instead; results are the same. The setting is read when LightGBM loads, and every use of
LightGBM in the project goes through this package, so it is set here.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
