"""A stand-in GPU job for the device-assignment tests, run as its own process (as a Snakemake job is):
claims a GPU the way the pipeline's commands do, holds it HOLD seconds, records what it received.

    python fake_gpu_job.py OUT.json HOLD

``OUT.json.claimed`` appears once the device is held (the kill test waits for it).
"""

import json
import logging
import os
import sys
import time
from pathlib import Path

from gradparadigm.devices import claim_gpu_for_process

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
out, hold = Path(sys.argv[1]), float(sys.argv[2])
device = claim_gpu_for_process()
start = time.time()
Path(f"{out}.claimed").touch()
time.sleep(hold)
record = {
    "device": device,
    "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    "start": start,
    "end": time.time(),
    "pid": os.getpid(),
}
out.parent.mkdir(parents=True, exist_ok=True)
Path(f"{out}.tmp").write_text(json.dumps(record))
os.replace(f"{out}.tmp", out)
