"""Suite-wide settings.

The unit tests use tiny tensors, for which a second intra-op thread only adds OpenMP
synchronisation; on a loaded machine two spinning threads slowed some tests 30-fold.
One thread keeps the suite fast and its timing stable (subprocess tests pass the
same count on, so bit-identity checks compare like with like). Metric caches go to a
fresh temporary folder (``GANAS_CACHE``), never to the user's ``~/.cache``.
"""

import os
import tempfile

import torch

torch.set_num_threads(1)
# metric networks fitted by tests are cached in a fresh folder, never in ~/.cache
os.environ["GANAS_CACHE"] = tempfile.mkdtemp(prefix="ganas-test-cache-")
