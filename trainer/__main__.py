import time

# Before any import that takes time (torch, pydantic): control requests made from here on
# are for this run, even a Stop pressed while the model is still loading (trainer/control.py).
STARTED = time.time()

import sys  # noqa: E402

from .cli import main  # noqa: E402

sys.exit(main(started=STARTED))
