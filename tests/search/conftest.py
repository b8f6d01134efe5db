import sys
from pathlib import Path

# The fakes live next to the tests; pytest runs with --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))
