import sys
from pathlib import Path

# The fakes live next to the tests (pytest runs with --import-mode=importlib), and the
# benchmark module lives in the repo's top-level `benchmarks/` folder (not an installed package).
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if str(HERE.parents[1]) not in sys.path:
    sys.path.append(str(HERE.parents[1]))
