"""The seed case: a young man begging on the streets of Medan, referred to the Binjai unit.

The workflow (``street-beggar-family-conflict`` v1, from shared/domain.md) and the story
live in `casework_flow.demo`, so that ``casework-flow demo`` can play them from any
install; this script is the same demo from a source checkout:

    python examples/medan_street_beggar.py [--db FILE]

It plays the story on an SQLite database with a controllable clock, shows refused
attempts and why, prints the trail with Indonesian and English labels, and ends by
verifying the chain and replaying the case. The same workflow as a reviewed file is
``examples/street-beggar-family-conflict.yaml``.
"""

from casework_flow.demo import *  # noqa: F403 - the example's names, for importers
from casework_flow.demo import main

if __name__ == "__main__":
    main()
